/**
 * Scenario "duplicate-delivery": the workload faults every consumer meets —
 * half the contents delivered twice, registrations after their contents,
 * contents for batches already complete, contents for batches that never
 * come — plus a rolling restart, whose uncommitted offsets are redelivered.
 */
import { planFaults, type ScenarioDefinition } from '@chaos-lab/lab';
import { planAssignmentWorkload } from '@chaos-lab/model';

export const scenario: ScenarioDefinition = {
  name: 'duplicate-delivery',
  description: 'redeliveries (50 %), reordering, late and orphan contents, a rolling restart',
  paceMs: 6000,
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 12,
      slotsPerBatch: 10,
      duplicateRatio: 0.5,
      lateRegistrationRatio: 0.6,
      lateContents: 5,
      orphanContents: 3,
      burstCopies: 12,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
  faults: (ctx) =>
    planFaults(ctx, { menu: [() => ({ kind: 'rolling-restart' })], count: 1, startMs: 1500, durationMs: [500, 500] }),
};
