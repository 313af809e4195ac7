import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['chaos-lab-source'] },
  ssr: { resolve: { conditions: ['chaos-lab-source'] } },
  test: {
    include: ['{apps,packages,scenarios}/*/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
  },
});
