/**
 * Where a coordinator's CPU goes, from a V8 CPU profile: every sample is
 * charged to the *owner* of its innermost frame — a library (by its package
 * under node_modules, with the packages of one client grouped: node-postgres
 * is pg, pg-protocol, pg-pool, pg-types), the service's own code, the garbage
 * collector, or V8 outside JavaScript. A frame of Node itself (`node:net`,
 * `node:stream`) or a native builtin has no owner of its own: it is charged
 * to the nearest caller that has one, so a socket write asked for by
 * node-postgres counts as node-postgres — the question is which part of the
 * service costs what, not how Node implements it.
 */
import type { CpuProfile, CpuProfileNode } from '@chaos-lab/lab';

/** Packages shown under one name: one client library and its own parts. */
const GROUPS: Readonly<Record<string, string>> = {
  pg: 'node-postgres',
  'pg-protocol': 'node-postgres',
  'pg-pool': 'node-postgres',
  'pg-types': 'node-postgres',
  'pg-connection-string': 'node-postgres',
  'postgres-array': 'node-postgres',
  'postgres-date': 'node-postgres',
  'postgres-interval': 'node-postgres',
  'postgres-bytea': 'node-postgres',
  ioredis: 'ioredis',
  '@ioredis/commands': 'ioredis',
  'redis-parser': 'ioredis',
  'redis-errors': 'ioredis',
  'cluster-key-slot': 'ioredis',
  denque: 'ioredis',
  'standard-as-callback': 'ioredis',
  kafkajs: 'kafkajs',
  pino: 'pino',
  'sonic-boom': 'pino',
  'pino-std-serializers': 'pino',
  'fast-redact': 'pino',
  'quick-format-unescaped': 'pino',
  'thread-stream': 'pino',
  'atomic-sleep': 'pino',
  'on-exit-leak-free': 'pino',
  'prom-client': 'prom-client',
  tdigest: 'prom-client',
  bintrees: 'prom-client',
};

/** Owners of the workspace's own code, by the folder in a frame's path. */
const WORKSPACE: readonly (readonly [RegExp, string])[] = [
  [/\/apps\/coordinator\//, 'coordinator (own code)'],
  [/\/apps\/ingest\//, 'ingest (own code)'],
  [/\/packages\/contracts\//, 'contracts'],
  [/\/packages\/service-kit\//, 'service-kit'],
];

/** V8's pseudo-frames with an owner of their own. */
const PSEUDO: Readonly<Record<string, string>> = {
  '(garbage collector)': 'garbage collector',
  '(program)': 'V8 outside JavaScript (compiler, native)',
  '(idle)': 'idle',
};

export const IDLE = 'idle';
export const NODE_ITSELF = 'Node itself (no caller owns it)';

/** The owner of one frame, or undefined when its caller's owner is to be charged (Node's own code, a builtin). */
export function frameOwner(frame: CpuProfileNode['callFrame']): string | undefined {
  const url = frame.url;
  if (url === '') return PSEUDO[frame.functionName];
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    const pkg = parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
    return GROUPS[pkg] ?? pkg;
  }
  for (const [re, owner] of WORKSPACE) if (re.test(url)) return owner;
  return undefined;
}

/** Microseconds per owner: each sample charged to the owner of its innermost frame, or of the nearest caller with one. */
export function cpuByOwner(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownerCache = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const cached = ownerCache.get(id);
    if (cached !== undefined) return cached;
    const path: number[] = [];
    let owner: string | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const known = ownerCache.get(at);
      if (known !== undefined) {
        owner = known;
        break;
      }
      path.push(at);
      owner = frameOwner(byId.get(at)!.callFrame);
      if (owner !== undefined) break;
    }
    owner ??= NODE_ITSELF;
    for (const p of path) ownerCache.set(p, owner);
    return owner;
  };
  const out = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    // timeDeltas[i] is the time from sample i-1 to sample i; sample i stands for the interval up to the next.
    for (let i = 0; i < samples.length; i++) {
      const us = i + 1 < deltas.length ? deltas[i + 1]! : profile.endTime - profile.startTime - sumTo(deltas, i);
      const o = ownerOf(samples[i]!);
      out.set(o, (out.get(o) ?? 0) + Math.max(0, us));
    }
    return out;
  }
  // A profile without its sample list: hit counts spread over the window.
  const hits = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
  if (hits === 0) return out;
  const per = (profile.endTime - profile.startTime) / hits;
  for (const n of profile.nodes)
    if (n.hitCount) out.set(ownerOf(n.id), (out.get(ownerOf(n.id)) ?? 0) + n.hitCount * per);
  return out;
}

function sumTo(xs: readonly number[], i: number): number {
  let s = 0;
  for (let k = 0; k <= i; k++) s += xs[k]!;
  return s;
}

export interface ProfileRow {
  readonly owner: string;
  readonly ms: number;
  /** Of the busy time (everything but idle), 0..1. */
  readonly share: number;
}

/** Several profiles (one per instance) summed: rows by busy time, largest first, idle left out; and the busy total. */
export function profileRows(profiles: readonly CpuProfile[]): { rows: ProfileRow[]; busyMs: number; idleMs: number } {
  const sum = new Map<string, number>();
  for (const p of profiles) for (const [o, us] of cpuByOwner(p)) sum.set(o, (sum.get(o) ?? 0) + us);
  const idleMs = (sum.get(IDLE) ?? 0) / 1000;
  sum.delete(IDLE);
  const busyMs = [...sum.values()].reduce((a, b) => a + b, 0) / 1000;
  const rows = [...sum]
    .map(([owner, us]) => ({ owner, ms: us / 1000, share: busyMs > 0 ? us / 1000 / busyMs : 0 }))
    .sort((a, b) => b.ms - a.ms);
  return { rows, busyMs, idleMs };
}
