/**
 * Test helpers for scenario packages (`@chaos-lab/lab/testing`): the same
 * two test files every suite has — its plan is a pure function of the seed,
 * and the suite itself run over seeds 1..3 — written once. Imports vitest,
 * so it is a separate entry point that only test files load.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { planOf, runSuite, type ScenarioDefinition, type SuiteResult } from './scenario/scenario.js';
import { chaosTestsEnabled, coordinatorEntry, parseSeeds } from './scenario/main.js';

/** Same seed, same plan (workload and faults); another seed, another plan. */
export function describePlanDeterminism(scenario: ScenarioDefinition): void {
  describe(`${scenario.name}: plan`, () => {
    it('is the same for the same seed (workload and faults), and differs for another seed', () => {
      const a = planOf(scenario, 17);
      expect(JSON.stringify(planOf(scenario, 17))).toBe(JSON.stringify(a));
      expect(JSON.stringify(planOf(scenario, 18).plan.publishes)).not.toBe(JSON.stringify(a.plan.publishes));
      expect(a.plan.publishes.length).toBeGreaterThan(0);
    });
  });
}

/**
 * The suite itself, seeds `LAB_SEEDS` (default 1..3) on one shared session as
 * `npm run chaos` runs them, one test per seed, when {@link chaosTestsEnabled}
 * (in CI, or with `LAB_CHAOS_TESTS=1`). Run folders go where `npm run chaos`
 * puts them (`LAB_RUNS_DIR`, else `runs/`), to be read after a failure.
 */
export function describeChaosSuite(scenario: ScenarioDefinition): void {
  describe.runIf(chaosTestsEnabled())(`chaos: ${scenario.name}`, () => {
    const seeds = parseSeeds(process.env.LAB_SEEDS ?? '1..3');
    const lines = new Map<number, string[]>();
    let suite: Promise<SuiteResult>;
    beforeAll(() => {
      let current: string[] = [];
      suite = runSuite(scenario, {
        seeds,
        coordinatorEntry: coordinatorEntry(),
        out: (l) => current.push(l),
        progress: () => {},
        onResult: (r) => {
          lines.set(r.stats.seed, current);
          current = [];
        },
        replayCommand: (seed) => `npm run lab -- run ${scenario.name} --seed ${seed}`,
      });
      // Each seed's test reports the outcome; an unhandled rejection here would be reported twice.
      suite.catch(() => {});
    });
    it.each(seeds)(
      'seed %i: every checker passes',
      async (seed) => {
        const r = (await suite).results.find((x) => x.stats.seed === seed);
        expect(r, `seed ${seed} did not run`).toBeDefined();
        expect(r!.valid, (lines.get(seed) ?? []).join('\n')).toBe(true);
      },
      // The first seed's test waits for the whole suite.
      300_000 * seeds.length,
    );
  });
}
