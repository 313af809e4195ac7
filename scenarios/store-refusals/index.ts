/**
 * Scenario "store-refusals": both stores up, reachable and holding their
 * data, but refusing writes for a while, each way a store refuses: Redis
 * read-only (a replica during a failover), Redis busy (a long script), Redis
 * out of memory (at its limit with nothing to evict), PostgreSQL read-only
 * (a standby). Each refusal is transient and says so; the coordinator must
 * wait it out: every content assigned once, every batch finished, nothing
 * dead-lettered. Redis out of memory is the one no other suite plans.
 */
import { eachKindOnce, type FaultMaker, type ScenarioDefinition } from '@chaos-lab/lab';
import { steadyWorkload } from '@chaos-lab/model';

const menu: FaultMaker[] = [
  () => ({ kind: 'redis-readonly' }),
  () => ({ kind: 'redis-busy' }),
  () => ({ kind: 'redis-out-of-memory' }),
  () => ({ kind: 'postgres-readonly' }),
];

/** Each refusal's slot starts this long after the previous one's: its window (1.5–2 s) and a recovery gap. */
const SLOT_MS = 2750;

export const scenario: ScenarioDefinition = {
  name: 'store-refusals',
  description: 'Redis read-only, busy and out of memory, PostgreSQL read-only: each once, in a seeded order',
  // The workload sends while the last refusal is on.
  paceMs: 500 + menu.length * SLOT_MS,
  plan: steadyWorkload,
  // Every seed sees every refusal once, in a seeded order.
  faults: (ctx) => eachKindOnce(ctx, menu, { startMs: 500, slotMs: SLOT_MS, durationMs: [1500, 2000] }),
};
