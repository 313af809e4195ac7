/**
 * Scenario "kafka-faults": a broker down (its partitions unreachable until
 * it returns), partition leadership moved between brokers, and a rolling
 * restart of every instance (a storm of rebalances, each redelivering
 * whatever was not committed).
 */
import { planAssignmentWorkload, planFaults, type FaultMaker, type ScenarioDefinition } from '@chaos-lab/lab';

const menu: FaultMaker[] = [
  ({ rng, brokerIds }) => ({ kind: 'broker-down', broker: rng.pick(brokerIds) }),
  ({ rng, brokerIds, inputTopics, partitions }) => ({
    kind: 'leader-move',
    topic: rng.pick(inputTopics),
    partition: rng.int(0, partitions - 1),
    broker: rng.pick(brokerIds),
  }),
  () => ({ kind: 'rolling-restart' }),
];

export const scenario: ScenarioDefinition = {
  name: 'kafka-faults',
  description: 'a broker down, a leader move, a rolling restart (rebalance storm)',
  paceMs: 9000,
  timeoutMs: 150_000,
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
