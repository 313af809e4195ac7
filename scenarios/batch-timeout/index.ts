/**
 * Scenario "batch-timeout": batches registered with a deadline that never
 * receive all their contents. Whichever instance's sweeper gets there first
 * must time each of them out exactly once, with the partial result, while
 * ordinary batches complete as usual.
 */
import { type ScenarioDefinition } from '@chaos-lab/lab';
import { planAssignmentWorkload } from '@chaos-lab/model';

export const scenario: ScenarioDefinition = {
  name: 'batch-timeout',
  description: 'batches missing a content must time out once, with a partial result',
  paceMs: 3000,
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 10,
      slotsPerBatch: 8,
      timeoutBatches: 5,
      deadlineMs: 3000,
      burstCopies: 6,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
};
