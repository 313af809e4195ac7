/**
 * Test helpers for scenario packages (`@chaos-lab/lab/testing`): the same
 * two test files every suite has — its plan is a pure function of the seed,
 * and the suite itself run over seeds 1..3 — written once. Imports vitest,
 * so it is a separate entry point that only test files load.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSuite, type SuiteResult } from './scenario/scenario.js';
import { compileScenario, type ScenarioDefinition } from './scenario/definition.js';
import { planSeed } from './scenario/stages/plan.js';
import { chaosTestsEnabled, coordinatorEntry, parseSeeds } from './scenario/main.js';
import { unsupportedFaults } from './nemesis/catalogue.js';
import type { FaultKind } from './nemesis/types.js';
import { capabilitiesOf } from './environment/capabilities.js';
import type { ProviderName } from './environment/index.js';
import { UnsupportedFaultsError } from './errors.js';

export interface PlanExpectations {
  /**
   * The fault kinds this suite plans that the docker provider cannot run
   * (its one real broker has no control API). Default none: the suite runs
   * unchanged on either provider. The test fails when the plans say otherwise.
   */
  readonly notOnDocker?: readonly FaultKind[];
}

const PROVIDER_SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

function unsupportedKinds(scenario: ScenarioDefinition, provider: ProviderName): string[] {
  const caps = capabilitiesOf(provider);
  const kinds = PROVIDER_SEEDS.flatMap((seed) =>
    unsupportedFaults(planSeed(compileScenario(scenario), seed, provider).faults, caps).map((u) => u.fault.spec.kind),
  );
  return [...new Set(kinds)].sort();
}

/**
 * Same seed, same plan (workload and faults); another seed, another plan.
 * And which provider can run the faults of seeds 1..20: the local one all of
 * them; the docker one all but `notOnDocker`, and a suite with any of those
 * is refused on it before anything starts.
 */
export function describePlanDeterminism(scenario: ScenarioDefinition, expect_: PlanExpectations = {}): void {
  const notOnDocker = [...(expect_.notOnDocker ?? [])].sort();
  describe(`${scenario.name}: plan`, () => {
    it('is the same for the same seed (workload and faults), and differs for another seed', () => {
      const def = compileScenario(scenario);
      const a = planSeed(def, 17);
      expect(JSON.stringify(planSeed(def, 17))).toBe(JSON.stringify(a));
      expect(JSON.stringify(planSeed(def, 18).plan.publishes)).not.toBe(JSON.stringify(a.plan.publishes));
      expect(a.plan.publishes.length).toBeGreaterThan(0);
    });

    it('plans only faults the local provider can run (seeds 1..20)', () => {
      expect(unsupportedKinds(scenario, 'local')).toEqual([]);
    });

    it(
      notOnDocker.length === 0
        ? 'plans only faults the docker provider can run (seeds 1..20)'
        : `plans ${notOnDocker.join(', ')}, which the docker provider cannot run, and is refused there before anything starts`,
      async () => {
        expect(unsupportedKinds(scenario, 'docker')).toEqual(notOnDocker);
        if (notOnDocker.length === 0) return;
        const runsDir = await mkdtemp(join(tmpdir(), 'lab-refused-'));
        try {
          const run = runSuite(scenario, {
            seeds: [1, 2, 3],
            provider: 'docker',
            coordinatorEntry: coordinatorEntry(),
            runsDir,
            progress: () => {},
            out: () => {},
          });
          const err = await run.then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(UnsupportedFaultsError);
          const message = (err as Error).message;
          expect(message).not.toContain('\n');
          expect(message).toMatch(new RegExp(`^${scenario.name} cannot run on the docker provider: `));
          for (const kind of notOnDocker) expect(message).toContain(`${kind} (`);
          expect(message).toMatch(/run it with LAB_PROVIDER=local$/);
          // Nothing started, nothing written.
          expect(await readdir(runsDir)).toEqual([]);
        } finally {
          await rm(runsDir, { recursive: true, force: true });
        }
      },
    );
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
