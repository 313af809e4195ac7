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
 * Built as production's store given its own completion step
 * ({@link InMemoryExpectations.steps}), behind a decorator that remembers each
 * registration this instance handles ({@link InMemoryExpectations.store}).
 *
 * Caught by: `every-batch-finished` (batches without a passed deadline stay
 * open) and, for an early close, `one-ready-per-batch` (a ready batch with
 * free slots).
 */
import type { BatchSnapshot, BatchStore, Registration } from '../domain/ports.js';
import type { SettleSteps } from '../adapters/postgres/settle-steps.js';
import { BatchStoreDecorator } from './decorators.js';

/** One instance's memory of its batches: the two halves of the variant share it. */
export class InMemoryExpectations {
  private readonly expected = new Map<string, number>();
  private readonly settled = new Map<string, number>();

  /** Production's settling steps, but completion decided from this memory, once per settlement this instance writes. */
  steps(production: SettleSteps): SettleSteps {
    return {
      ...production,
      isComplete: async ({ batchId }) => {
        const settled = (this.settled.get(batchId) ?? 0) + 1;
        this.settled.set(batchId, settled);
        const expected = this.expected.get(batchId);
        return expected !== undefined && settled >= expected;
      },
    };
  }

  /** The store, remembering the expected count of every batch this instance registers. */
  store(inner: BatchStore): BatchStore {
    return new RememberingRegistrations(inner, this.expected);
  }
}

class RememberingRegistrations extends BatchStoreDecorator {
  constructor(
    inner: BatchStore,
    private readonly expected: Map<string, number>,
  ) {
    super(inner);
  }

  override async register(r: Registration): Promise<BatchSnapshot> {
    const snapshot = await super.register(r);
    this.expected.set(r.batchId, snapshot.expected);
    return snapshot;
  }
}
