/**
 * Known-bad variant `watch-multi-exec` — LAB ONLY, never deployed.
 *
 * Seed bug: slot assignment done from Node with optimistic locking
 * (WATCH / MULTI / EXEC) instead of one Lua script, with `SPOP` sent straight
 * away rather than queued inside MULTI. The SPOP modifies the free set, a key
 * this very connection is watching, so Redis discards every EXEC (it answers
 * null). The code reads null as "another writer got there first", returns the
 * slot it popped and tries again after a short sleep — for ever. Nothing is
 * logged above debug and no error ever surfaces: assignments silently stop.
 *
 * Why it is wrong: a read-decide-write step split across round trips is what
 * DESIGN §3 forbids ("atomic steps are Lua scripts, never read-then-write
 * from Node"); here the split is also self-defeating, because a write made
 * outside the transaction invalidates the transaction's own WATCH.
 *
 * Caught by: `every-batch-finished` (liveness) — batches whose contents
 * arrive never close; no safety checker sees anything wrong.
 *
 * Only `assign` is replaced (a decorator of production's cache); every other
 * step stays on the Lua scripts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { batchKeys, type ExcessReason } from '@chaos-lab/contracts';
import type { CacheAssign, SlotCache } from '../domain/ports.js';
import type { Metrics } from '../metrics.js';
import { callRedis, type RedisCacheOptions } from '../adapters/redis/redis-cache.js';
import { proposeOneByOne, SlotCacheDecorator } from './decorators.js';

export interface WatchMultiExecOptions {
  /** Discarded EXECs in a row after which `assign` gives up with an error. Default: never (the seed's loop). */
  readonly maxAttempts?: number;
  /** Sleep between attempts, in milliseconds. Default 20. */
  readonly retryDelayMs?: number;
}

/** Wraps production's cache; `assign` (and the batched path, through it) is the seed's. */
export class WatchMultiExecSlotCache extends SlotCacheDecorator {
  constructor(
    inner: SlotCache,
    private readonly opts: RedisCacheOptions,
    private readonly metrics: Metrics,
    private readonly variant: WatchMultiExecOptions = {},
  ) {
    super(inner);
  }

  override assign(batchId: string, textStorageId: string): Promise<CacheAssign> {
    return callRedis(this.metrics, 'assign', async () => {
      // WATCH is per connection: each assignment gets its own, so only its own writes can abort it.
      const conn = new Redis(this.opts.url, {
        commandTimeout: this.opts.commandTimeoutMs,
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => Math.min(50 * times, 1000),
      });
      try {
        return await this.assignWatched(conn, batchId, textStorageId);
      } finally {
        await conn.quit().catch(() => conn.disconnect());
      }
    });
  }

  /** The batched path runs through this variant's one-input step. */
  override proposeMany(requests: Parameters<SlotCache['proposeMany']>[0]) {
    return proposeOneByOne(this, requests);
  }

  private async assignWatched(conn: Redis, batchId: string, textStorageId: string): Promise<CacheAssign> {
    const k = batchKeys(batchId, this.opts.keyPrefix);
    const maxAttempts = this.variant.maxAttempts ?? Number.POSITIVE_INFINITY;
    for (let attempt = 1; ; attempt++) {
      await conn.watch(k.meta, k.free, k.assign, k.excess);
      if ((await conn.exists(k.meta)) === 0) {
        await conn.unwatch();
        return { kind: 'missing' };
      }
      const essay = await conn.hget(k.assign, textStorageId);
      if (essay !== null) {
        await conn.unwatch();
        return { kind: 'assigned', essayId: essay, fresh: false };
      }
      const known = await conn.hget(k.excess, textStorageId);
      if (known !== null) {
        await conn.unwatch();
        return { kind: 'excess', reason: known as ExcessReason };
      }
      let outcome: CacheAssign;
      const tx = conn.multi();
      if ((await conn.hget(k.meta, 'status')) !== 'open') {
        tx.hset(k.excess, textStorageId, 'batch_closed');
        outcome = { kind: 'excess', reason: 'batch_closed' };
      } else {
        // THE BUG: SPOP goes out now, not queued in the MULTI. It modifies the watched free set,
        // so the EXEC below is always discarded (unless the set was empty and SPOP changed nothing).
        const slot = await conn.spop(k.free);
        if (slot === null) {
          tx.hset(k.excess, textStorageId, 'no_free_slot');
          outcome = { kind: 'excess', reason: 'no_free_slot' };
        } else {
          tx.hset(k.assign, textStorageId, slot).hincrby(k.meta, 'settled', 1);
          outcome = { kind: 'assigned', essayId: slot, fresh: true };
        }
      }
      if ((await tx.exec()) !== null) return outcome;
      // Read as "someone else changed the batch": give the popped slot back and try again.
      if (outcome.kind === 'assigned') await conn.sadd(k.free, outcome.essayId);
      if (attempt >= maxAttempts) {
        throw new Error(`watch-multi-exec: EXEC discarded ${attempt} times in a row for batch ${batchId}`);
      }
      await sleep(this.variant.retryDelayMs ?? 20);
    }
  }
}
