/**
 * {@link SlotCache} on Redis. Scripts are registered with ioredis
 * `defineCommand`, which sends EVALSHA and falls back to EVAL on NOSCRIPT —
 * so a Redis restart (script cache gone) costs one extra round trip, not an
 * error.
 */
import { Redis, ReplyError } from 'ioredis';
import { batchKeys, batchKeyList, type ExcessReason } from '@chaos-lab/contracts';
import type { BatchSnapshot, CacheAssign, CacheFailure, ProposalInput, SlotCache } from '../../domain/ports.js';
import { DependencyError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import {
  ASSIGN_CONTENT,
  CLOSE_BATCH,
  NOTE_EXCESS,
  PROPOSE_MANY,
  REPLACE_FINAL,
  LOAD_BATCH,
  SETTLE_FAILURE,
} from './lua.js';

// defineCommand with numberOfKeys: the first 5 arguments are the keys, the rest ARGV.
type ScriptFn = (...keysThenArgs: string[]) => Promise<unknown>;
interface ScriptedRedis extends Redis {
  bcLoad: ScriptFn;
  bcAssign: ScriptFn;
  bcSettleFailure: ScriptFn;
  bcClose: ScriptFn;
  bcReplaceFinal: ScriptFn;
  bcNoteExcess: ScriptFn;
  bcProposeMany: ScriptFn;
}
/** The scripts as queued on a pipeline (sent by its exec()). */
type ScriptPipeline = {
  readonly [K in Exclude<keyof ScriptedRedis, keyof Redis>]: (...keysThenArgs: string[]) => unknown;
};

export interface RedisCacheOptions {
  readonly url: string;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  /** Seconds a closed batch's keys are kept. Default one day. */
  readonly closedTtlSeconds?: number;
}

/** Reply errors Redis gives while it is failing over, restarting or busy: the same call succeeds later. */
const TRANSIENT_REPLY = /^(READONLY|LOADING|BUSY|OOM|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

export function isTransientRedisReply(err: unknown): boolean {
  return err instanceof ReplyError && TRANSIENT_REPLY.test((err as Error).message);
}

/**
 * Runs one Redis call with its latency and error metrics. A reply error (a script error, WRONGTYPE) is a bug or
 * corrupt state, not an outage: not retriable — unless Redis says it is passing: a failover or a restart
 * (READONLY, LOADING, MASTERDOWN), a busy script (BUSY), memory (OOM), a cluster moving (TRYAGAIN,
 * CLUSTERDOWN). Anything else (a connection refused or reset, a timeout) is a retriable {@link DependencyError}.
 */
export async function callRedis<T>(metrics: Metrics, op: string, fn: () => Promise<T>): Promise<T> {
  const end = metrics.dependencyLatency.startTimer({ dependency: 'redis', operation: op });
  try {
    return await fn();
  } catch (err) {
    metrics.dependencyErrors.inc({ dependency: 'redis', operation: op });
    if (err instanceof ReplyError && !isTransientRedisReply(err)) throw err;
    throw new DependencyError('redis', err);
  } finally {
    end();
  }
}

export class RedisSlotCache implements SlotCache {
  private readonly redis: ScriptedRedis;
  private readonly closedTtl: number;

  constructor(
    private readonly opts: RedisCacheOptions,
    private readonly metrics: Metrics,
  ) {
    const redis = new Redis(opts.url, {
      commandTimeout: opts.commandTimeoutMs,
      // Fail a command after one reconnect attempt instead of queueing it for
      // ever: the consumer's retry loop owns retrying, with its own backoff.
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(50 * times, 1000),
      lazyConnect: false,
    });
    redis.on('error', () => {
      // Connection errors surface on the commands; this listener keeps ioredis from logging each reconnect.
    });
    for (const [name, lua] of [
      ['bcLoad', LOAD_BATCH],
      ['bcAssign', ASSIGN_CONTENT],
      ['bcSettleFailure', SETTLE_FAILURE],
      ['bcClose', CLOSE_BATCH],
      ['bcReplaceFinal', REPLACE_FINAL],
      ['bcNoteExcess', NOTE_EXCESS],
      ['bcProposeMany', PROPOSE_MANY],
    ] as const) {
      redis.defineCommand(name, { lua, numberOfKeys: 5 });
    }
    this.redis = redis as ScriptedRedis;
    this.closedTtl = opts.closedTtlSeconds ?? 86_400;
  }

  private keys(batchId: string): string[] {
    return batchKeyList(batchKeys(batchId, this.opts.keyPrefix));
  }

  private call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return callRedis(this.metrics, op, fn);
  }

  /** The keys and ARGV the load scripts share: status, expected, then the snapshot's lists as JSON. */
  private snapshotArgs(s: BatchSnapshot): string[] {
    return [
      ...this.keys(s.batchId),
      s.status,
      String(s.expected),
      JSON.stringify(s.free),
      JSON.stringify([...s.assigned]),
      JSON.stringify([...s.failed]),
      JSON.stringify([...s.excess]),
    ];
  }

  async load(s: BatchSnapshot): Promise<boolean> {
    const r = await this.call('load', () => this.redis.bcLoad(...this.snapshotArgs(s)));
    return r === 1;
  }

  async assign(batchId: string, textStorageId: string): Promise<CacheAssign> {
    const r = (await this.call('assign', () => this.redis.bcAssign(...this.keys(batchId), textStorageId))) as string[];
    return assignReply(r[0], r[1]);
  }

  async settleFailure(batchId: string, identity: string): Promise<CacheFailure> {
    const r = (await this.call('settle_failure', () =>
      this.redis.bcSettleFailure(...this.keys(batchId), identity),
    )) as string[];
    return failureReply(r[0], r[1]);
  }

  async proposeMany(
    requests: readonly { readonly batchId: string; readonly inputs: readonly ProposalInput[] }[],
  ): Promise<(CacheAssign | CacheFailure)[][]> {
    if (requests.length === 0) return [];
    // One pipeline: every batch's script in one write, one round trip.
    const replies = (await this.call('propose_many', () =>
      this.pipelined((p) => {
        for (const r of requests)
          p.bcProposeMany(
            ...this.keys(r.batchId),
            ...r.inputs.flatMap((i) => [i.kind === 'content' ? 'c' : 'f', i.key]),
          );
      }),
    )) as string[][];
    return requests.map((r, n) => {
      const flat = replies[n]!;
      if (flat.length !== r.inputs.length * 2)
        throw new Error(`propose script answered ${flat.length / 2} of ${r.inputs.length} inputs for ${r.batchId}`);
      return r.inputs.map((i, k) =>
        i.kind === 'content' ? assignReply(flat[2 * k], flat[2 * k + 1]) : failureReply(flat[2 * k], flat[2 * k + 1]),
      );
    });
  }

  async close(batchId: string, status: 'ready' | 'timed_out'): Promise<boolean> {
    const r = await this.call('close', () => this.redis.bcClose(...this.keys(batchId), status, String(this.closedTtl)));
    return r === 1;
  }

  async closeMany(
    closes: readonly { readonly batchId: string; readonly status: 'ready' | 'timed_out' }[],
  ): Promise<boolean[]> {
    if (closes.length === 0) return [];
    const replies = await this.call('close_many', () =>
      this.pipelined((p) => {
        for (const c of closes) p.bcClose(...this.keys(c.batchId), c.status, String(this.closedTtl));
      }),
    );
    return replies.map((r) => r === 1);
  }

  async replaceFinal(s: BatchSnapshot): Promise<void> {
    await this.call('replace_final', () => this.redis.bcReplaceFinal(...this.snapshotArgs(s), String(this.closedTtl)));
  }

  async replaceFinalMany(snapshots: readonly BatchSnapshot[]): Promise<void> {
    if (snapshots.length === 0) return;
    await this.call('replace_final_many', () =>
      this.pipelined((p) => {
        for (const s of snapshots) p.bcReplaceFinal(...this.snapshotArgs(s), String(this.closedTtl));
      }),
    );
  }

  /**
   * Sends the scripts `queue` adds as one pipeline (one write, one round trip) and answers their replies in
   * order; the first script's error fails the call.
   */
  private async pipelined(queue: (p: ScriptPipeline) => void): Promise<unknown[]> {
    // A pipeline's command queues and returns the pipeline; only exec() sends.
    const p = this.redis.pipeline() as unknown as ScriptPipeline & {
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    queue(p);
    const res = await p.exec();
    if (res === null) throw new Error('the pipeline was discarded');
    return res.map(([err, reply]) => {
      if (err) throw err;
      return reply;
    });
  }

  async noteExcess(batchId: string, textStorageId: string, reason: ExcessReason): Promise<void> {
    await this.call('note_excess', () =>
      this.redis.bcNoteExcess(...this.keys(batchId), textStorageId, reason, String(this.closedTtl)),
    );
  }

  async invalidate(batchId: string): Promise<void> {
    await this.call('invalidate', () => this.redis.del(...this.keys(batchId)));
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.redis.ping());
  }

  async quit(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

function assignReply(kind: string | undefined, value: string | undefined): CacheAssign {
  switch (kind) {
    case 'missing':
      return { kind: 'missing' };
    case 'existing':
      return { kind: 'assigned', essayId: value!, fresh: false };
    case 'assigned':
      return { kind: 'assigned', essayId: value!, fresh: true };
    case 'excess':
      return { kind: 'excess', reason: value as ExcessReason };
    default:
      throw new Error(`unexpected reply from the assign script: ${JSON.stringify([kind, value])}`);
  }
}

function failureReply(kind: string | undefined, value: string | undefined): CacheFailure {
  switch (kind) {
    case 'missing':
      return { kind: 'missing' };
    case 'existing':
      return { kind: 'settled', essayId: value!, fresh: false };
    case 'settled':
      return { kind: 'settled', essayId: value!, fresh: true };
    case 'excess':
      return { kind: 'excess', reason: value as ExcessReason };
    default:
      throw new Error(`unexpected reply from the settle-failure script: ${JSON.stringify([kind, value])}`);
  }
}
