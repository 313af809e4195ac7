/**
 * Test helpers for scenario packages (`@chaos-lab/lab/testing`): the same
 * two test files every suite has — its plan is a pure function of the seed,
 * and the suite itself run over seeds 1..3 — written once. Imports vitest,
 * so it is a separate entry point that only test files load.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planOf, runScenario, type ScenarioDefinition } from './scenario/scenario.js';
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
 * The suite itself, seeds `LAB_SEEDS` (default 1..3), one test per seed, when
 * `LAB_CHAOS_TESTS=1`; a plain `npm test` leaves these to `npm run chaos`.
 */
export function describeChaosSuite(scenario: ScenarioDefinition): void {
  describe.runIf(chaosTestsEnabled())(`chaos: ${scenario.name}`, () => {
    const runsDir = process.env.LAB_RUNS_DIR ?? mkdtempSync(join(tmpdir(), `chaos-${scenario.name}-`));
    it.each(parseSeeds(process.env.LAB_SEEDS ?? '1..3'))(
      'seed %i: every checker passes',
      async (seed) => {
        const lines: string[] = [];
        const r = await runScenario(scenario, {
          seed,
          coordinatorEntry: coordinatorEntry(),
          runsDir,
          out: (l) => lines.push(l),
          progress: () => {},
          replayCommand: `npm run lab -- run ${scenario.name} --seed ${seed}`,
        });
        expect(r.valid, lines.join('\n')).toBe(true);
      },
      300_000,
    );
  });
}
