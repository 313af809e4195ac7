/** A small scenario for the stages' unit tests: a workload of a few batches and one pause fault per seed. */
import { planAssignmentWorkload } from '@chaos-lab/model';
import { planFaults } from '../../nemesis/plan/fault-schedule.js';
import type { ScenarioDefinition } from '../definition.js';

export const small: ScenarioDefinition = {
  name: 'stages-small',
  description: 'four batches of three slots, one pause',
  instances: 2,
  partitions: 3,
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 4,
      slotsPerBatch: 3,
      duplicateRatio: 0.2,
      lateRegistrationRatio: 0.3,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
  faults: (ctx) =>
    planFaults(ctx, { count: 2, menu: [({ rng, instanceIds }) => ({ kind: 'pause', target: rng.pick(instanceIds) })] }),
};
