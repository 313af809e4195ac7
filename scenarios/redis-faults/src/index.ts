/**
 * Scenario "redis-faults": Redis slow for everyone, Redis unreachable from
 * one instance (the partitioned minority), and Redis restarted without
 * persistence — every batch's coordination state gone mid-run and rebuilt
 * from Postgres.
 */
import { planAssignmentWorkload, planFaults, type FaultMaker, type ScenarioDefinition } from '@chaos-lab/lab';

const menu: FaultMaker[] = [
  ({ rng }) => ({
    kind: 'link-toxic',
    link: 'redis',
    target: 'all',
    toxic: { type: 'latency', attributes: { latency: rng.int(50, 200), jitter: 10 } },
  }),
  ({ rng, instanceIds }) => ({ kind: 'link-down', link: 'redis', target: rng.pick(instanceIds) }),
  () => ({ kind: 'redis-restart' }),
];

export const scenario: ScenarioDefinition = {
  name: 'redis-faults',
  description: 'Redis latency, one instance cut off from Redis, Redis restarted empty',
  paceMs: 9000,
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 15,
      slotsPerBatch: 10,
      burstCopies: 6,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
  faults: (ctx) => {
    // Every seed sees every kind once, in a seeded order.
    const order = ctx.rng.shuffle(menu);
    return planFaults(ctx, { menu: [order[0]!], count: 1, startMs: 500, durationMs: [1500, 2000], gapMs: [800, 1200] })
      .concat(planFaults(ctx, { menu: [order[1]!], count: 1, startMs: 3500, durationMs: [1500, 2000] }))
      .concat(planFaults(ctx, { menu: [order[2]!], count: 1, startMs: 6500, durationMs: [1500, 2000] }));
  },
};
