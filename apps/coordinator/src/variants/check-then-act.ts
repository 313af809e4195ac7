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
 * Caught by: `no-duplicate-assignment` — one content holds two slots in
 * Postgres (and the batch may close early: `one-ready-per-batch` reports the
 * ready event's essays listing one content twice).
 */
import { batchKeys, EventType, eventIds, type ExcessReason } from '@chaos-lab/contracts';
import type { CacheAssign, ContentInput, StoreWrite } from '../domain/ports.js';
import type { Metrics } from '../metrics.js';
import { RedisSlotCache, type RedisCacheOptions } from '../adapters/redis/redis-cache.js';
import { PgBatchStore } from '../adapters/postgres/pg-store.js';

/** The constraint Postgres generated for `UNIQUE (batch_id, text_storage_id)` in migration 1. */
export const CONTENT_UNIQUE_CONSTRAINT = 'slots_batch_id_text_storage_id_key';

export interface CheckThenActHooks {
  /** Awaited between the check (HGET) and the act (SPOP); tests use it to line racers up. */
  readonly betweenCheckAndAct?: () => Promise<void>;
}

export class CheckThenActSlotCache extends RedisSlotCache {
  /** The batched path runs through this variant's one-input step. */
  protected override readonly proposesOneByOne = true;

  constructor(
    opts: RedisCacheOptions,
    metrics: Metrics,
    private readonly hooks: CheckThenActHooks = {},
  ) {
    super(opts, metrics);
  }

  override assign(batchId: string, textStorageId: string): Promise<CacheAssign> {
    const k = batchKeys(batchId, this.opts.keyPrefix);
    return this.call('assign', async (): Promise<CacheAssign> => {
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
}

export class CacheTrustingStore extends PgBatchStore {
  /** The batched path runs through this variant's one-input step. */
  protected override readonly settlesOneByOne = true;

  /** Migrates, then removes the constraint that would otherwise catch the cache's duplicate. */
  override async migrate(): Promise<number[]> {
    const applied = await super.migrate();
    await this.run('drop_constraint', () =>
      this.pool.query(`ALTER TABLE slots DROP CONSTRAINT IF EXISTS ${CONTENT_UNIQUE_CONSTRAINT}`),
    );
    return applied;
  }

  /** Writes the slot the cache proposed; never asks whether the content already holds another one. */
  override recordAssignment(c: ContentInput, essayId: string): Promise<StoreWrite> {
    return this.inBatch('record_assignment', c.batchId, async (tx): Promise<StoreWrite> => {
      const batch = await this.batchRow(tx, c.batchId);
      if (!batch) return { kind: 'unregistered' };
      const proposed = await tx.query<{ text_storage_id: string | null }>(
        `SELECT text_storage_id FROM slots WHERE batch_id = $1 AND essay_id = $2`,
        [c.batchId, essayId],
      );
      // The proposed slot already holds this content: a redelivery the cache answered consistently.
      if (proposed.rows[0]?.text_storage_id === c.textStorageId)
        return { kind: 'recorded', completed: false, status: batch.status };
      if (batch.status !== 'open')
        return { kind: 'conflict', detail: `batch is ${batch.status}, cache offered ${essayId}` };
      const upd = await tx.query(
        `UPDATE slots SET state = 'assigned', text_storage_id = $3, original_file_name = $4, correlation_id = $5, settled_at = now()
          WHERE batch_id = $1 AND essay_id = $2 AND state = 'free'`,
        [c.batchId, essayId, c.textStorageId, c.originalFileName, c.correlationId],
      );
      if (upd.rowCount !== 1) return { kind: 'conflict', detail: `slot ${essayId} is not free` };
      await tx.query(`DELETE FROM pending_inputs WHERE batch_id = $1 AND kind = 'content' AND input_key = $2`, [
        c.batchId,
        c.textStorageId,
      ]);
      await this.enqueue(
        tx,
        this.opts.topics.slotAssigned,
        c.batchId,
        EventType.SlotAssigned,
        eventIds.slotAssigned(c.batchId, c.textStorageId),
        c.correlationId,
        {
          batch_id: c.batchId,
          essay_id: essayId,
          text_storage_id: c.textStorageId,
          original_file_name: c.originalFileName,
        },
      );
      const completed = await this.completeIfSettled(tx, c.batchId, batch.correlation_id);
      return { kind: 'recorded', completed, status: completed ? 'ready' : batch.status };
    });
  }
}
