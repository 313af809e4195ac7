/**
 * Scenario "pipeline": the assignment pipeline with no infrastructure fault,
 * only the faults every Kafka consumer meets in normal life — contents that
 * arrive before their batch, redeliveries, validation failures, more
 * contents than slots — plus the seed's own race: one content event
 * published 20 times at once to every partition, so that different instances
 * try to assign it concurrently. Exactly one assignment must come out.
 */
import { type ScenarioDefinition } from '@chaos-lab/lab';
import { planAssignmentWorkload } from '@chaos-lab/model';

export const scenario: ScenarioDefinition = {
  name: 'pipeline',
  description:
    '3 instances; 50 batches × 20 slots in random order, 10 % redelivered, early contents, failures, excess, a 20-copy concurrent burst',
  instances: 3,
  partitions: 6,
  timeoutMs: 120_000,
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 50,
      slotsPerBatch: 20,
      duplicateRatio: 0.1,
      failureRatio: 0.05,
      excessBatchRatio: 0.2,
      lateRegistrationRatio: 0.3,
      burstCopies: 20,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
};
