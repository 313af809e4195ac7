/**
 * The suite itself, seeds 1..3, as tests, when `LAB_CHAOS_TESTS=1`; a plain
 * `npm test` leaves these to `npm run chaos`, which runs the same thing. Each seed is one test, so the
 * JSON report counts scenario runs.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chaosTestsEnabled, coordinatorEntry, parseSeeds, runScenario } from '@chaos-lab/lab';
import { scenario } from './index.js';

const runsDir = process.env.LAB_RUNS_DIR ?? mkdtempSync(join(tmpdir(), `chaos-${scenario.name}-`));

describe.runIf(chaosTestsEnabled())(`chaos: ${scenario.name}`, () => {
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
