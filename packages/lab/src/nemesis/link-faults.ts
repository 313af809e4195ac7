/**
 * Link faults: toxics and "link down" on the proxies between an instance (or
 * every instance) and Redis or PostgreSQL. Evidence comes from a probe sent
 * through the faulted proxy while the fault is on, and from the instances'
 * own dependency metrics over the window.
 */
import type { ActiveFault, FaultDefinition, NemesisContext } from './definition.js';
import type { LinkName, ToxicSpec } from '../links/links.js';
import type { FaultDrawContext } from './definition.js';
import { probeLink, type ProbeResult } from './probes.js';
import { dependencyDelta, snapshot } from './metrics.js';
import { targetsOf } from './resources.js';

/** A Toxiproxy toxic on one instance's link (`target` = instance id) or on every instance's (`all`). */
export interface LinkToxicSpec {
  readonly kind: 'link-toxic';
  readonly link: LinkName;
  readonly target: string;
  readonly toxic: ToxicSpec;
}

/** The link's proxy disabled: open connections closed, new ones refused. */
export interface LinkDownSpec {
  readonly kind: 'link-down';
  readonly link: LinkName;
  readonly target: string;
}

/** What the instances' own calls to the faulted store did over the window (metrics.ts `dependencyDelta`). */
export type DependencyDelta = ReturnType<typeof dependencyDelta>;

function affected(ctx: NemesisContext, target: string) {
  return target === 'all' ? ctx.instances.all : ctx.instances.all.filter((x) => x.id === target);
}

async function probeFirst(
  ctx: NemesisContext,
  spec: { link: 'redis' | 'postgres'; target: string },
  timeoutMs: number,
  payload = 0,
): Promise<ProbeResult> {
  const name = ctx.links.names(spec.target, spec.link)[0]!;
  const { host, port } = await ctx.links.listen(name);
  return probeLink(spec.link, host, port, timeoutMs, payload);
}

/** What a client must see through the toxic for it to count as in effect. */
function judge(spec: LinkToxicSpec, p: ProbeResult): boolean {
  const a = spec.toxic.attributes;
  switch (spec.toxic.type) {
    case 'latency':
      return p.ok && p.ms >= 0.8 * (a.latency ?? 0);
    case 'timeout':
    case 'reset_peer':
    case 'limit_data':
      return !p.ok;
    case 'slicer':
      return p.ok && p.ms >= ((a.delay ?? 0) / 1000) * 2;
    case 'bandwidth':
      return p.ok && p.ms >= 0.5 * ((4096 / 1024 / (a.rate ?? 1)) * 1000);
    case 'slow_close':
      return p.ok;
  }
}

/** Toxics that cut a link (no answer, a reset, a closed connection), as opposed to slowing it. */
const CUTTING: ReadonlySet<ToxicSpec['type']> = new Set(['timeout', 'reset_peer', 'limit_data']);

function drawToxic({ rng }: FaultDrawContext, link: 'redis' | 'postgres'): ToxicSpec {
  switch (rng.pick(['latency', 'bandwidth', 'slicer', 'timeout', 'reset_peer', 'limit_data'] as const)) {
    case 'latency': {
      const latency = rng.int(50, 300);
      // Jitter within a tenth: the probe's evidence wants at least 0.8 of the latency.
      return { type: 'latency', attributes: { latency, jitter: rng.int(0, Math.floor(latency / 10)) } };
    }
    case 'bandwidth': {
      const rate = rng.int(2, 16);
      // PostgreSQL's answers are a few hundred bytes: at 2–16 KB/s they are late by less than a loaded machine's
      // own noise (fuzz seed 47: 46 ms per call during the fault, 43 ms before it), so the fault took no visible
      // effect. At 1 KB/s each answer is late by a tenth of a second or more.
      return { type: 'bandwidth', attributes: { rate: link === 'postgres' ? 1 : rate } };
    }
    case 'slicer':
      return {
        type: 'slicer',
        attributes: { average_size: rng.int(1, 3), size_variation: 0, delay: rng.int(500, 5000) },
      };
    case 'timeout':
      // 0: the data is held for as long as the toxic is on; otherwise the connection closes after that long.
      return { type: 'timeout', attributes: { timeout: rng.chance(0.5) ? 0 : rng.int(500, 3000) } };
    case 'reset_peer':
      return { type: 'reset_peer', attributes: { timeout: rng.chance(0.5) ? 0 : rng.int(100, 1000) } };
    case 'limit_data':
      // Fewer bytes than the probe's answer (PING's 7, PostgreSQL's 1), so the probe sees the cut too.
      return { type: 'limit_data', attributes: { bytes: link === 'redis' ? rng.int(0, 6) : 0 } };
  }
}

/**
 * Whether a toxic took effect: the probe sent through it while on met it (only a toxicity of 1 makes that
 * evidence), or the affected instances' own calls to the store did (slower, or failing).
 */
export function toxicTookEffect(spec: LinkToxicSpec, p: ProbeResult, delta: DependencyDelta): boolean {
  const a = spec.toxic.attributes;
  const byProbe = (spec.toxic.toxicity ?? 1) >= 1 && judge(spec, p);
  // A slicer delays between slices, so a probe whose answer fits in one slice (PostgreSQL's one-byte answer
  // to an SSL request) meets no delay at all (fuzz seed 18: probe 6.8 ms, the instance's calls 612 ms on
  // average): the instance's own calls are evidence too.
  // Nor does PostgreSQL's probe meet a bandwidth limit: its answer is one byte (fuzz seed 47: rate 7 KB/s,
  // probe 150 ms, the instances' calls 68 ms on average): their calls, twice slower than before, are evidence.
  const byMetrics =
    spec.toxic.type === 'latency'
      ? delta.meanMs >= 0.5 * (a.latency ?? 0) && delta.calls > 0
      : spec.toxic.type === 'slicer'
        ? delta.meanMs >= Math.max(20, ((a.delay ?? 0) / 1000) * 2) && delta.calls > 0
        : spec.toxic.type === 'bandwidth'
          ? (delta.meanMs >= Math.max(20, 2 * delta.meanBeforeMs) && delta.calls > 0) || delta.errors > 0
          : delta.errors > 0;
  return byProbe || byMetrics;
}

/** Whether a link cut took effect: the probe through it was refused, or an affected instance's call failed. */
export function linkDownTookEffect(p: ProbeResult, delta: DependencyDelta): boolean {
  return !p.ok || delta.errors > 0;
}

export const linkToxic: FaultDefinition<LinkToxicSpec> = {
  kind: 'link-toxic',
  family: 'link',
  description: "a Toxiproxy toxic (latency, timeout, reset, bandwidth…) on an instance's link to Redis or PostgreSQL",
  label: (s) => `${s.toxic.type} ${JSON.stringify(s.toxic.attributes)} ${s.link}@${s.target}`,
  holds: (s, ids) => targetsOf(s.target, ids).map((id) => `link:${s.link}:${id}`),
  make: (ctx) => {
    const link = ctx.rng.pick(['redis', 'postgres'] as const);
    const toxic = drawToxic(ctx, link);
    const target = !CUTTING.has(toxic.type) && ctx.rng.chance(0.5) ? 'all' : ctx.rng.pick(ctx.instanceIds);
    return { kind: 'link-toxic', link, target, toxic };
  },
  disables: (s, ids) => (CUTTING.has(s.toxic.type) ? targetsOf(s.target, ids) : []),
  async start(spec, ctx): Promise<ActiveFault> {
    const xs = affected(ctx, spec.target);
    const before = await snapshot(xs);
    const name = `nemesis-${spec.toxic.type}`;
    await ctx.links.addToxic(spec.target, spec.link, name, spec.toxic);
    const a = spec.toxic.attributes;
    const probeTimeout = spec.toxic.type === 'timeout' ? Math.max(500, Math.min(a.timeout || 1000, 3000)) : 5000;
    // A probe only meets toxicity < 1 by chance; it is evidence only when toxicity is 1.
    const p = await probeFirst(ctx, spec, probeTimeout, spec.toxic.type === 'bandwidth' ? 4096 : 0);
    return {
      async end() {
        await ctx.links.removeToxic(spec.target, spec.link, name);
        const delta = dependencyDelta(before, await snapshot(xs), spec.link);
        return { tookEffect: toxicTookEffect(spec, p, delta), detail: { probe: p, [spec.link]: delta } };
      },
    };
  },
};

export const linkDown: FaultDefinition<LinkDownSpec> = {
  kind: 'link-down',
  family: 'link',
  description:
    "an instance's (or every instance's) link to Redis or PostgreSQL cut: connections closed, new ones refused",
  label: (s) => `down ${s.link}@${s.target}`,
  holds: (s, ids) => targetsOf(s.target, ids).map((id) => `link:${s.link}:${id}`),
  make: ({ rng, instanceIds }) => ({
    kind: 'link-down',
    link: rng.pick(['redis', 'postgres'] as const),
    target: rng.pick(instanceIds),
  }),
  disables: (s, ids) => targetsOf(s.target, ids),
  async start(spec, ctx): Promise<ActiveFault> {
    const xs = affected(ctx, spec.target);
    const before = await snapshot(xs);
    await ctx.links.setEnabled(spec.target, spec.link, false);
    const p = await probeFirst(ctx, spec, 1000);
    return {
      async end() {
        await ctx.links.setEnabled(spec.target, spec.link, true);
        const delta = dependencyDelta(before, await snapshot(xs), spec.link);
        return { tookEffect: linkDownTookEffect(p, delta), detail: { probe: p, [spec.link]: delta } };
      },
    };
  },
};
