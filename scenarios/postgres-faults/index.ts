/**
 * Scenario "postgres-faults": one instance's Postgres connections reset by
 * peer, Postgres slow for everyone, a Postgres restart (every connection of
 * every instance dropped at once), and Postgres read-only for a while (a
 * standby's refusal, SQLSTATE 25006, during a failover): transient, so no
 * content may be dead-lettered for it.
 */
import { eachKindOnce, type FaultMaker, type ScenarioDefinition } from '@chaos-lab/lab';
import { steadyWorkload } from '@chaos-lab/model';

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
  () => ({ kind: 'postgres-readonly' }),
];

/** Each fault's slot starts this long after the previous one's: its window (1.5–2 s) and a recovery gap. */
const SLOT_MS = 3000;

export const scenario: ScenarioDefinition = {
  name: 'postgres-faults',
  description: 'Postgres connection resets on one instance, latency on all, restart, read-only',
  // The workload sends while the last fault is on.
  paceMs: menu.length * SLOT_MS,
  plan: steadyWorkload,
  faults: (ctx) => eachKindOnce(ctx, menu, { startMs: 500, slotMs: SLOT_MS, durationMs: [1500, 2000] }),
};
