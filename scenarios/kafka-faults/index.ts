/**
 * Scenario "kafka-faults": a broker down (its partitions unreachable until
 * it returns; never the group coordinator, which the local mock cannot
 * survive), partition leadership moved between brokers, offset commits
 * refused, and a rolling restart of every instance (a storm of
 * rebalances, each redelivering whatever was not committed). Injected
 * errors hit whichever client sends that request next, so only OffsetCommit
 * is used: the lab's own observer never commits, so it cannot absorb them.
 */
import { GROUP_COORDINATOR_BROKER, eachKindOnce, type FaultMaker, type ScenarioDefinition } from '@chaos-lab/lab';
import { steadyWorkload } from '@chaos-lab/model';

const menu: FaultMaker[] = [
  // Not the group coordinator: librdkafka's mock (2.0) aborts the whole cluster when a member re-sends its
  // JoinGroup after its coordinator came back (rdkafka_mock_cgrp.c:567, `!member->resp`), seen twice here.
  ({ rng, brokerIds }) => ({
    kind: 'broker-down',
    broker: rng.pick(brokerIds.filter((b) => b !== GROUP_COORDINATOR_BROKER)),
  }),
  ({ rng, brokerIds, inputTopics, partitions }) => ({
    kind: 'leader-move',
    topic: rng.pick(inputTopics),
    partition: rng.int(0, partitions - 1),
    broker: rng.pick(brokerIds),
  }),
  () => ({
    kind: 'request-errors',
    api: 'OffsetCommit',
    errors: ['REQUEST_TIMED_OUT', 'NOT_COORDINATOR', 'REQUEST_TIMED_OUT'],
  }),
];

/** Each fault's slot starts this long after the previous one's: its window (1.5–2 s) and a recovery gap. */
const SLOT_MS = 2800;

export const scenario: ScenarioDefinition = {
  name: 'kafka-faults',
  description: 'a broker down, a leader move, offset commit errors, a rolling restart (rebalance storm)',
  paceMs: 14_000,
  timeoutMs: 150_000,
  plan: steadyWorkload,
  faults: (ctx) => {
    // Faults that need traffic to show come first, in a seeded order, while the workload runs; the rolling
    // restart (which takes several seconds and holds the nemesis) comes last.
    const timed = eachKindOnce(ctx, menu, { startMs: 500, slotMs: SLOT_MS, durationMs: [1500, 2000] });
    return [...timed, { at: 500 + menu.length * SLOT_MS, durationMs: 500, spec: { kind: 'rolling-restart' } }];
  },
};
