/**
 * Scenario "upgrade": a rolling upgrade with mixed versions. The instances
 * start on the coordinator of an earlier commit (`LAB_BASELINE_REF`, by
 * default the last commit before the fixes of issue 12, which changed a
 * contract — validation failures v2 — and the schema — migrations 3 to 5);
 * a `rolling-upgrade` fault then restarts them one by one onto the current
 * build while traffic flows, so that old and new run side by side against
 * one Postgres, one Redis and one consumer group, under the mixed nemesis.
 *
 * The workload speaks what both versions speak: validation failures v1 (the
 * new build still accepts them) with unique file names (v1 identifies a
 * failure by its file name, which the baseline cannot do otherwise). The
 * mixed nemesis draws from faults the baseline is known to survive: a broker
 * down, a leader moved, offset commits refused — these run while old and new
 * are side by side — and link toxics and a Redis restart, which hold what the
 * upgrade holds and so meet the new build once it is done. Not the store
 * refusals (read-only, busy) that the baseline took as final (bug 5 of issue
 * 12), nor process faults, which would hold the instances the upgrade is
 * restarting. Every checker
 * judges the run; a seed starts again on the baseline.
 */
import { InvalidArgumentError, planMixedFaults, type ScenarioDefinition } from '@chaos-lab/lab';
import { planAssignmentWorkload } from '@chaos-lab/model';

/** The last commit before issue 12's fixes: contract v1 only, schema version 2. */
export const DEFAULT_BASELINE_REF = 'f30d9e27f4428ed5a49473ecc8e43e5395f7fb44';

function baselineRef(): string {
  const ref = process.env.LAB_BASELINE_REF ?? DEFAULT_BASELINE_REF;
  if (ref.trim() === '') throw new InvalidArgumentError('LAB_BASELINE_REF', ref, 'a git ref or sha');
  return ref;
}

/** The rolling upgrade starts this long into the traffic, so that the baseline works alone first. */
const UPGRADE_AT_MS = 1500;

export const scenario: ScenarioDefinition = {
  name: 'upgrade',
  description: `3 instances on ${process.env.LAB_BASELINE_REF ?? 'the commit before issue 12'} upgraded one by one to the current build under link, store-restart and broker faults`,
  baselineRef: baselineRef(),
  paceMs: 12_000,
  stallTimeoutMs: 15_000,
  settleBoundMs: 5_000,
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 16,
      slotsPerBatch: 6,
      failureRatio: 0.15,
      failureVersion: 1,
      duplicateRatio: 0.2,
      burstCopies: 6,
      timeoutBatches: 1,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
  faults: (ctx) => [
    // Its window covers the traffic: Kafka faults drawn inside it run while old and new are side by side (they
    // hold nothing the upgrade holds); a link or store fault drawn inside it waits for the upgrade to end, and
    // then meets the new build alone.
    { at: UPGRADE_AT_MS, durationMs: 10_000, spec: { kind: 'rolling-upgrade' } },
    ...planMixedFaults(ctx, {
      count: 4,
      horizonMs: 12_000,
      trafficMs: 12_000,
      kinds: ['broker-down', 'leader-move', 'request-errors', 'link-toxic', 'redis-restart'],
    }),
  ],
};
