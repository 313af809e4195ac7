import { defineConfig } from 'vitest/config';

// Three projects. `unit`: every test file but the scenario suites and the container tests, files in parallel
// as usual. `chaos`: the scenario suites (`scenarios/*/chaos.test.ts`) and tests as heavy as one
// (`*.chaos.test.ts`), active in CI or with LAB_CHAOS_TESTS=1, after the unit project has finished, four
// files at a time as `npm run chaos` runs them:
// each suite starts its own servers and three coordinators, and more at once on two cores would measure
// contention. `containers`: the tests that build and run images (`*.containers.test.ts`, active with
// LAB_CONTAINER_TESTS=1), last and one at a time, so that image builds never share the cores with the
// timing of a scenario.
const chaosSuites = 'scenarios/*/chaos.test.ts';
// Other tests as heavy as a suite (real servers, a whole seed, a lab killed from outside): in the chaos project too.
const chaosTests = 'packages/*/src/**/*.chaos.test.ts';
const containerTests = '{apps,packages}/*/src/**/*.containers.test.ts';

export default defineConfig({
  resolve: { conditions: ['chaos-lab-source'] },
  ssr: { resolve: { conditions: ['chaos-lab-source'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // In CI: test-results/vitest.json (.ci/run counts from it) and test-results/junit.xml for CI test views.
    reporters: process.env.CI
      ? [
          'default',
          ['json', { outputFile: 'test-results/vitest.json' }],
          ['junit', { outputFile: 'test-results/junit.xml' }],
        ]
      : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            '{apps,packages}/*/src/**/*.test.ts',
            'scenarios/*/*.test.ts',
            'dashboards/src/**/*.test.ts',
            'tests/*.test.ts',
          ],
          exclude: [chaosSuites, chaosTests, containerTests],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'chaos',
          include: [chaosSuites, chaosTests],
          maxWorkers: 4,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'containers',
          include: [containerTests],
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
