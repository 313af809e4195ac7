/**
 * Scenario "zombie-pause": one instance is frozen (SIGSTOP) for longer than
 * its Kafka session timeout, so the group moves its partitions to others;
 * then it wakes up (SIGCONT) still holding a fetched batch and believing it
 * owns it. Whatever it writes after waking must not duplicate what the new
 * owner wrote.
 */
import { planFaults, type ScenarioDefinition } from '@chaos-lab/lab';
import { steadyWorkload } from '@chaos-lab/model';

export const scenario: ScenarioDefinition = {
  name: 'zombie-pause',
  description: 'an instance paused past the session timeout (4 s), then resumed',
  paceMs: 8000,
  plan: steadyWorkload,
  faults: (ctx) =>
    planFaults(ctx, {
      menu: [({ rng, instanceIds }) => ({ kind: 'pause', target: rng.pick(instanceIds) })],
      count: 1,
      startMs: 1000,
      durationMs: [5500, 7000],
    }),
};
