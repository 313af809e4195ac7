/**
 * Known-bad variant `early-offset-commit` — LAB ONLY, never deployed.
 *
 * Seed bug: the consumer acknowledges input before doing the work. For each
 * fetched batch it resolves the last offset and commits it to Kafka at once,
 * then processes the messages (through production's own batch path).
 *
 * Why it is wrong: DESIGN §3 — "a Kafka offset is committed only after the
 * work it covers is durable". A kill -9 (or a lost partition) after the
 * commit and before a message's transaction commits loses that message for
 * good: the group resumes after it, nothing redelivers it. The fail-points
 * stay where production has them. Production settles a fetched run of
 * inputs in one transaction and reaches `after-commit-before-offset` only
 * after it, so a crash there loses only what follows the run in the fetch
 * (often nothing); `after-cache-before-store` comes before the run's
 * transaction, and a crash there loses the whole run, as the fail-point's
 * documentation predicts for a consumer that commits offsets early.
 *
 * Built as production's consumer given {@link commitEarly} as its
 * `eachBatch` option, which wraps production's handling of a fetched batch.
 *
 * Caught by: `nothing-lost` (an input published `ok` with no fate in
 * Postgres and no output event), `stores-agree` (Redis holds the slots the
 * lost inputs were proposed), and usually `every-batch-finished`.
 */
import type { EachBatchPayload } from 'kafkajs';
import type { BatchHandler } from '../adapters/kafka/consumer.js';

/** Commits the fetched batch's offsets, then hands the batch to production's handling. */
export async function commitEarly(payload: EachBatchPayload, production: BatchHandler): Promise<void> {
  const { batch, resolveOffset, commitOffsetsIfNecessary } = payload;
  const last = batch.messages.at(-1);
  if (!last) return;
  // THE BUG: acknowledge the whole fetch first (Kafka stores the next offset to read)…
  resolveOffset(last.offset);
  await commitOffsetsIfNecessary({
    topics: [
      {
        topic: batch.topic,
        partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }],
      },
    ],
  });
  // …then do the work it covers, as production does it (settled as a unit, the one-message path for the
  // rest), minus production's own offset resolution and commit, which would only repeat what was acknowledged.
  await production({ ...payload, resolveOffset: () => {}, commitOffsetsIfNecessary: async () => {} });
}
