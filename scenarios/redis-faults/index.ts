/**
 * Scenario "redis-faults": Redis slow for everyone, Redis unreachable from
 * one instance (the partitioned minority), Redis restarted without
 * persistence — every batch's coordination state gone mid-run and rebuilt
 * from Postgres — and Redis up but refusing for a while: read-only (a
 * replica during a failover) and busy (a long script). A refusal is
 * transient: every content must still be assigned, none dead-lettered.
 */
import { eachKindOnce, type FaultMaker, type ScenarioDefinition } from '@chaos-lab/lab';
import { steadyWorkload } from '@chaos-lab/model';

const menu: FaultMaker[] = [
  ({ rng }) => ({
    kind: 'link-toxic',
    link: 'redis',
    target: 'all',
    toxic: { type: 'latency', attributes: { latency: rng.int(50, 200), jitter: 10 } },
  }),
  ({ rng, instanceIds }) => ({ kind: 'link-down', link: 'redis', target: rng.pick(instanceIds) }),
  () => ({ kind: 'redis-restart' }),
  () => ({ kind: 'redis-readonly' }),
  () => ({ kind: 'redis-busy' }),
];

/** Each fault's slot starts this long after the previous one's: its window (1.5–2 s) and a recovery gap. */
const SLOT_MS = 2750;

export const scenario: ScenarioDefinition = {
  name: 'redis-faults',
  description: 'Redis latency, one instance cut off from Redis, Redis restarted empty, read-only, busy',
  // The workload sends while the last fault is on.
  paceMs: 500 + menu.length * SLOT_MS,
  plan: steadyWorkload,
  // Every seed sees every kind once, in a seeded order.
  faults: (ctx) => eachKindOnce(ctx, menu, { startMs: 500, slotMs: SLOT_MS, durationMs: [1500, 2000] }),
};
