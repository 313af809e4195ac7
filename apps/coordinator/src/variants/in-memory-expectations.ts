/**
 * Known-bad variant `in-memory-expectations` — LAB ONLY, never deployed.
 *
 * Seed bug: a batch's expectations — how many slots it has, and how many
 * have been settled — live in the process memory of an instance instead of
 * Redis/Postgres. The instance that handled the registration remembers the
 * expected count; completion is declared when THIS instance's own count of
 * settlements (assignments and validation failures) for the batch reaches it.
 *
 * Why it is wrong: every instance consumes a share of the partitions, so a
 * batch's contents are spread across instances; no single process sees them
 * all. Such a batch never completes — and after a restart the counts are
 * gone (never completes), or a settlement counted in a transaction that then
 * failed and was retried is counted twice (completes early, with free
 * slots). DESIGN §3: state shared by instances lives in Redis/Postgres; the
 * store decides completion from the rows, under the batch's lock.
 *
 * Caught by: `every-batch-finished` (batches without a passed deadline stay
 * open) and, for an early close, `one-ready-per-batch` (a ready batch with
 * free slots).
 */
import type pg from 'pg';
import type { BatchSnapshot, Registration } from '../domain/ports.js';
import { PgBatchStore } from '../adapters/postgres/pg-store.js';

export class InMemoryExpectationsStore extends PgBatchStore {
  private readonly expected = new Map<string, number>();
  /** Through the replaceable steps: the bug is in one of them (production runs the one-round-trip function). */
  protected override readonly stepwise = true;
  private readonly settled = new Map<string, number>();

  override async register(r: Registration): Promise<BatchSnapshot> {
    const snapshot = await super.register(r);
    this.expected.set(r.batchId, snapshot.expected);
    return snapshot;
  }

  /** Called once per settlement this instance writes; decides completion from its own memory. */
  protected override async completeIfSettled(
    tx: pg.PoolClient,
    batchId: string,
    correlationId: string,
  ): Promise<boolean> {
    const settled = (this.settled.get(batchId) ?? 0) + 1;
    this.settled.set(batchId, settled);
    const expected = this.expected.get(batchId);
    if (expected === undefined || settled < expected) return false;
    return this.closeReady(tx, batchId, correlationId);
  }
}
