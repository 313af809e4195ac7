/**
 * Scenario "fuzz": the lab looking for what nobody named. An ordinary
 * workload whose file names come from a pool of three (different uploads of
 * one batch collide by themselves, as two students' `essay.docx` do), with
 * generated hostile messages — arbitrary bytes, invalid UTF-8, NUL,
 * truncated JSON, every field of every input type broken or at its limit,
 * keys absent, empty or huge — spread over the same partitions as the real
 * batches. Judged by every checker, and for liveness within seconds: after
 * the workload every input partition must be consumed to its end
 * (`inputs-consumed` names the message that blocks one).
 */
import { planFuzzWorkload, type ScenarioDefinition } from '@chaos-lab/lab';

export const scenario: ScenarioDefinition = {
  name: 'fuzz',
  description: 'generated hostile inputs and colliding file names on the partitions of real batches',
  paceMs: 3000,
  // Liveness in seconds: a partition that stops moving is a finding, not something to wait out.
  stallTimeoutMs: 8_000,
  settleBoundMs: 3_000,
  plan: (seed, ctx) =>
    planFuzzWorkload(seed, {
      batches: 10,
      slotsPerBatch: 6,
      failureRatio: 0.25,
      fileNamePool: 3,
      duplicateRatio: 0.2,
      burstCopies: 6,
      orphanContents: 2,
      hostile: 30,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
};
