/**
 * Known-bad variant `check-then-act` — LAB ONLY, never deployed.
 *
 * Seed bug, in two halves that only hurt together:
 * 1. The cache makes idempotency two steps: `HGET` "is this content assigned
 *    already?", then, if not, `SPOP` a free slot and `HSET` it — separate
 *    commands, no Lua. Two deliveries of one content (a redelivery racing the
 *    original, on two instances) both see "not assigned" and both pop a slot.
 * 2. The store trusts the cache, as the seed did: it writes whatever slot the
 *    cache proposed (still requiring that slot to be free) without asking
 *    whether the content already holds another one, and the variant drops
 *    the `UNIQUE (batch_id, text_storage_id)` constraint at start-up
 *    (Postgres named it `slots_batch_id_text_storage_id_key`). With either
 *    defence in place the production store would turn the race into a
 *    `conflict` and repair the cache, hiding the cache's bug.
 *
 * Why it is wrong: a check and the act it guards must be one atomic step
 * (DESIGN §3: "atomic steps are Lua scripts, never read-then-write from
 * Node"), and Postgres must hold the constraints that make a duplicate
 * impossible rather than believe the cache.
 *
 * Built as a decorator of production's cache ({@link CheckThenActSlotCache},
 * with a connection of its own) and production's store given its own
 * assignment step ({@link cacheTrustingSteps}), plus {@link dropContentUnique}
 * after the migrations.
 *
 * Caught by: `no-duplicate-assignment` — one content holds two slots in
 * Postgres (and the batch may close early: `one-ready-per-batch` reports the
 * ready event's essays listing one content twice).
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import { batchKeys, type ExcessReason } from '@chaos-lab/contracts';
import type { CacheAssign, ContentInput, SlotCache, StoreWrite } from '../domain/ports.js';
import type { Metrics } from '../metrics.js';
import { callRedis, type RedisCacheOptions } from '../adapters/redis/redis-cache.js';
import { writeAssignment, type SettleContext, type SettleSteps } from '../adapters/postgres/settle-steps.js';
import { proposeOneByOne, SlotCacheDecorator } from './decorators.js';

/** The constraint Postgres generated for `UNIQUE (batch_id, text_storage_id)` in migration 1. */
export const CONTENT_UNIQUE_CONSTRAINT = 'slots_batch_id_text_storage_id_key';

export interface CheckThenActHooks {
  /** Awaited between the check (HGET) and the act (SPOP); tests use it to line racers up. */
  readonly betweenCheckAndAct?: () => Promise<void>;
}

/** Wraps production's cache; `assign` (and the batched path, through it) is the seed's, on a connection of its own. */
export class CheckThenActSlotCache extends SlotCacheDecorator {
  private readonly redis: Redis;

  constructor(
    inner: SlotCache,
    private readonly opts: RedisCacheOptions,
    private readonly metrics: Metrics,
    private readonly hooks: CheckThenActHooks = {},
  ) {
    super(inner);
    this.redis = new Redis(opts.url, {
      commandTimeout: opts.commandTimeoutMs,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(50 * times, 1000),
    });
    this.redis.on('error', () => {});
  }

  override assign(batchId: string, textStorageId: string): Promise<CacheAssign> {
    const k = batchKeys(batchId, this.opts.keyPrefix);
    return callRedis(this.metrics, 'assign', async (): Promise<CacheAssign> => {
      if ((await this.redis.exists(k.meta)) === 0) return { kind: 'missing' };
      // Check…
      const essay = await this.redis.hget(k.assign, textStorageId);
      if (essay !== null) return { kind: 'assigned', essayId: essay, fresh: false };
      const known = await this.redis.hget(k.excess, textStorageId);
      if (known !== null) return { kind: 'excess', reason: known as ExcessReason };
      if ((await this.redis.hget(k.meta, 'status')) !== 'open') {
        await this.redis.hset(k.excess, textStorageId, 'batch_closed');
        return { kind: 'excess', reason: 'batch_closed' };
      }
      await this.hooks.betweenCheckAndAct?.();
      // …then act, in separate round trips: another delivery of the same content may be right here too.
      const slot = await this.redis.spop(k.free);
      if (slot === null) {
        await this.redis.hset(k.excess, textStorageId, 'no_free_slot');
        return { kind: 'excess', reason: 'no_free_slot' };
      }
      await this.redis.hset(k.assign, textStorageId, slot);
      await this.redis.hincrby(k.meta, 'settled', 1);
      return { kind: 'assigned', essayId: slot, fresh: true };
    });
  }

  /** The batched path runs through this variant's one-input step. */
  override proposeMany(requests: Parameters<SlotCache['proposeMany']>[0]) {
    return proposeOneByOne(this, requests);
  }

  /** Closes this wrapper's own connection (production's cache is quit by its owner). */
  async quit(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

/** Production's settling steps, but the assignment writes the slot the cache proposed, trusting it. */
export function cacheTrustingSteps(production: SettleSteps): SettleSteps {
  return { ...production, recordAssignment: trustingAssignment };
}

/** Writes the slot the cache proposed; never asks whether the content already holds another one. */
async function trustingAssignment(
  { tx, topics, batch, complete }: SettleContext,
  c: ContentInput,
  essayId: string,
): Promise<StoreWrite> {
  const proposed = await tx.query<{ text_storage_id: string | null }>(
    `SELECT text_storage_id FROM slots WHERE batch_id = $1 AND essay_id = $2`,
    [c.batchId, essayId],
  );
  // The proposed slot already holds this content: a redelivery the cache answered consistently.
  if (proposed.rows[0]?.text_storage_id === c.textStorageId)
    return { kind: 'recorded', completed: false, status: batch.status };
  return writeAssignment({ tx, topics, batch, complete }, c, essayId);
}

/** Removes the constraint that would otherwise catch the cache's duplicate (run after the migrations). */
export async function dropContentUnique(db: { readonly url: string }): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(`ALTER TABLE slots DROP CONSTRAINT IF EXISTS ${CONTENT_UNIQUE_CONSTRAINT}`);
  } finally {
    await client.end();
  }
}
