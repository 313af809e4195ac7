/**
 * Scenario "poison-events": malformed JSON, unknown event types, schema
 * violations and oversized messages spread through a normal workload, plus
 * contents for batches that are never registered. Every poison message must
 * be dead-lettered with its reason, the partitions must keep flowing, and
 * nothing valid may be lost.
 */
import { type ScenarioDefinition } from '@chaos-lab/lab';
import { planAssignmentWorkload } from '@chaos-lab/model';

export const scenario: ScenarioDefinition = {
  name: 'poison-events',
  description: 'malformed, unknown, schema-violating and oversized events; orphan contents',
  paceMs: 4000,
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 12,
      slotsPerBatch: 10,
      poisonPerKind: 3,
      orphanContents: 4,
      burstCopies: 6,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
};
