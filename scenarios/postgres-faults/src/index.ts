/**
 * Scenario "postgres-faults": one instance's Postgres connections reset by
 * peer, Postgres slow for everyone, and a Postgres restart (every connection
 * of every instance dropped at once).
 */
import { planAssignmentWorkload, planFaults, type FaultMaker, type ScenarioDefinition } from '@chaos-lab/lab';

const menu: FaultMaker[] = [
  ({ rng, instanceIds }) => ({
    kind: 'link-toxic',
    link: 'postgres',
    target: rng.pick(instanceIds),
    toxic: { type: 'reset_peer', attributes: { timeout: 0 } },
  }),
  ({ rng }) => ({
    kind: 'link-toxic',
    link: 'postgres',
    target: 'all',
    toxic: { type: 'latency', attributes: { latency: rng.int(20, 100), jitter: 5 } },
  }),
  () => ({ kind: 'postgres-restart' }),
];

export const scenario: ScenarioDefinition = {
  name: 'postgres-faults',
  description: 'Postgres connection resets on one instance, latency on all, restart',
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
    const order = ctx.rng.shuffle(menu);
    return [0, 1, 2].flatMap((i) =>
      planFaults(ctx, { menu: [order[i]!], count: 1, startMs: 500 + i * 3000, durationMs: [1500, 2000] }),
    );
  },
};
