/**
 * The steps of a settling write, statement by statement, as a strategy the
 * store is constructed with: how an assignment is recorded, how a write that
 * settled a slot decides that its batch is complete, and how the batch's
 * ready event is announced. {@link productionSteps} are production's;
 * `bc_record_assignment` and `bc_settle_many` (migrations 2 and 8) are the
 * same steps in one round trip, and a test proves they write the same.
 *
 * A store given steps of its own runs every settling write through them:
 * the lab's known-bad variants supply steps that wrap or replace one of
 * production's, because their bugs live there.
 */
import { eventIds, EventType, type BatchReady, type Topics } from '@chaos-lab/contracts';
import type { ContentInput, StoreWrite } from '../../domain/ports.js';
import { enqueue } from './outbox.js';
import { unparkContent } from './parking.js';
import { partitionSlots, slotRows, type BatchRow } from './rows.js';
import type { Tx } from './transaction.js';

/** A settling write inside its transaction, under its batch's lock. */
export interface SettleContext {
  readonly tx: Tx;
  readonly topics: Topics;
  readonly batchId: string;
  /** The batch's row, read under the lock. */
  readonly batch: BatchRow;
  /**
   * Closes the batch as ready if this write completed it: asks the steps' `isComplete`, marks the batch ready
   * and calls their `announceReady`. True if this call closed it. Called once by every write that settled a slot.
   */
  complete(): Promise<boolean>;
}

export interface SettleSteps {
  /** Records the slot the cache proposed for a content, or answers why not (a conflict). */
  recordAssignment(ctx: SettleContext, c: ContentInput, essayId: string): Promise<StoreWrite>;
  /** Whether the batch is complete now; asked once by every write that settled one of its slots. */
  isComplete(ctx: SettleContext): Promise<boolean>;
  /** Announces the batch this transaction closed as ready. */
  announceReady(ctx: SettleContext, data: BatchReady['data']): Promise<void>;
}

/** Marks the open batch ready and announces it through `steps`; true if this call closed it. */
export async function closeReady(steps: SettleSteps, ctx: SettleContext): Promise<boolean> {
  const r = await ctx.tx.query(
    `UPDATE batches SET status = 'ready', closed_at = now() WHERE batch_id = $1 AND status = 'open'`,
    [ctx.batchId],
  );
  if (r.rowCount !== 1) return false;
  const { essays, failures } = partitionSlots(await slotRows(ctx.tx, ctx.batchId));
  await steps.announceReady(ctx, { batch_id: ctx.batchId, essays, validation_failures: failures });
  return true;
}

/**
 * The write of an assignment once its checks have passed: the proposed slot taken (if still free), the content
 * unparked, its slot-assigned event queued, and the batch closed if this completed it. Shared by production's
 * `recordAssignment` and the variants whose bug lies in the checks before it.
 */
export async function writeAssignment(
  { tx, topics, batch, complete }: Pick<SettleContext, 'tx' | 'topics' | 'batch' | 'complete'>,
  c: ContentInput,
  essayId: string,
): Promise<StoreWrite> {
  if (batch.status !== 'open')
    return { kind: 'conflict', detail: `batch is ${batch.status}, cache offered ${essayId}` };
  const upd = await tx.query(
    `UPDATE slots SET state = 'assigned', text_storage_id = $3, original_file_name = $4, correlation_id = $5, settled_at = now()
          WHERE batch_id = $1 AND essay_id = $2 AND state = 'free'`,
    [c.batchId, essayId, c.textStorageId, c.originalFileName, c.correlationId],
  );
  if (upd.rowCount !== 1) return { kind: 'conflict', detail: `slot ${essayId} is not free` };
  await unparkContent(tx, c);
  await enqueue(
    tx,
    topics.slotAssigned,
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
  const completed = await complete();
  return { kind: 'recorded', completed, status: completed ? 'ready' : batch.status };
}

export const productionSteps: SettleSteps = {
  /** The assignment transaction statement by statement: the function `bc_record_assignment` is the same. */
  async recordAssignment({ tx, topics, batch, complete }, c, essayId) {
    const held = await tx.query<{ essay_id: string }>(
      `SELECT essay_id FROM slots WHERE batch_id = $1 AND text_storage_id = $2`,
      [c.batchId, c.textStorageId],
    );
    const heldBy = held.rows[0]?.essay_id;
    if (heldBy !== undefined) {
      // Already recorded: an idempotent success if the cache agrees.
      if (heldBy === essayId) return { kind: 'recorded', completed: false, status: batch.status };
      return { kind: 'conflict', detail: `content ${c.textStorageId} holds ${heldBy}, cache offered ${essayId}` };
    }
    return writeAssignment({ tx, topics, batch, complete }, c, essayId);
  },

  /** Every slot settled. Under the batch lock nobody else settles a slot, so "none free" cannot change before COMMIT. */
  async isComplete({ tx, batchId }) {
    const free = await tx.query(`SELECT 1 FROM slots WHERE batch_id = $1 AND state = 'free' LIMIT 1`, [batchId]);
    return !free.rowCount;
  },

  /** Queues `batch.ready` in the outbox, in the transaction that closed the batch, with an id derived from it. */
  async announceReady({ tx, topics, batchId, batch }, data) {
    await enqueue(
      tx,
      topics.batchReady,
      batchId,
      EventType.BatchReady,
      eventIds.batchReady(batchId),
      batch.correlation_id,
      data,
    );
  },
};
