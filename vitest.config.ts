import { defineConfig } from 'vitest/config';

// With the scenario suites in the run (LAB_CHAOS_TESTS=1), test files run one at a time: every suite
// starts its own servers and three coordinators, and two at once on two cores would measure contention.
const chaos = process.env.LAB_CHAOS_TESTS === '1';

export default defineConfig({
  resolve: { conditions: ['chaos-lab-source'] },
  ssr: { resolve: { conditions: ['chaos-lab-source'] } },
  test: {
    include: ['{apps,packages,scenarios}/*/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: !chaos,
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
  },
});
