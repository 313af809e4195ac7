import { defineConfig } from 'vitest/config';

// Two projects. `unit`: every test file but the scenario suites, files in parallel as usual. `chaos`: the
// scenario suites (`scenarios/*/src/chaos.test.ts`, active in CI or with LAB_CHAOS_TESTS=1), after the unit
// project has finished, four files at a time as `npm run chaos` runs them: each suite starts its own servers
// and three coordinators, and more at once on two cores would measure contention.
const chaosSuites = 'scenarios/*/src/chaos.test.ts';

export default defineConfig({
  resolve: { conditions: ['chaos-lab-source'] },
  ssr: { resolve: { conditions: ['chaos-lab-source'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{apps,packages,scenarios}/*/src/**/*.test.ts', 'dashboards/src/**/*.test.ts'],
          exclude: [chaosSuites],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'chaos',
          include: [chaosSuites],
          maxWorkers: 4,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
