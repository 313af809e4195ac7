/**
 * Scenario "instance-crash": instances die mid-work — kill -9, graceful
 * restarts, and the crash at the commit boundary (after the database
 * transaction committed, before the Kafka offset did), which makes the
 * group redeliver work that is already durable.
 */
import { COMMIT_CRASH_POINTS, planFaults, type FaultMaker, type ScenarioDefinition } from '@chaos-lab/lab';
import { steadyWorkload } from '@chaos-lab/model';

// The first fault is always the commit-boundary crash (below); the others kill or restart. A second
// commit-boundary crash on a member that just rejoined might find too few messages left to reach its count.
const menu: FaultMaker[] = [
  ({ rng, instanceIds }) => ({ kind: 'kill', target: rng.pick(instanceIds) }),
  ({ rng, instanceIds }) => ({ kind: 'restart', target: rng.pick(instanceIds) }),
];

export const scenario: ScenarioDefinition = {
  name: 'instance-crash',
  description: 'kill -9, restart, and crash after commit before offset commit',
  // Long enough that the instance restarted with the fail-point rejoins the group while traffic still flows, even
  // on a loaded CI machine (seen: 20 s from its restart to its join while three other suites ran).
  paceMs: 30_000,
  plan: steadyWorkload,
  faults: (ctx) =>
    planFaults(ctx, {
      // The commit-boundary crash always comes first, while traffic is certain to flow.
      menu,
      count: 2,
      startMs: 800,
      durationMs: [1500, 2500],
      gapMs: [500, 1000],
    }).map((f, i) =>
      i === 0
        ? {
            ...f,
            spec: {
              kind: 'commit-boundary-crash',
              target: ctx.rng.pick(ctx.instanceIds),
              nth: ctx.rng.int(1, 3),
              at: ctx.rng.pick(COMMIT_CRASH_POINTS),
            },
          }
        : f,
    ),
};
