/**
 * `lab run <suite> --plan <seed folder>/plan.json --json` and `lab replay` on a real environment: a saved plan
 * (the fixture's, cut to one whole batch and no fault, so that it is short) runs exactly as saved, the run prints
 * its record on stdout, and a replay of its folder comes to the same verdict. Two short real runs, so gated like
 * the chaos suites (CI, or LAB_CHAOS_TESTS=1).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaosTestsEnabled } from '../scenario/main.js';
import { suiteRecordSchema } from '../scenario/suite-record.js';
import { replaySeedFolder } from './replay.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'dist', 'cli.js');
const fixture = join(here, 'fixtures', 'instance-crash-5seeds-20261204T193801', 'seed-1');

describe.skipIf(!chaosTestsEnabled())('lab run --plan … --json, then lab replay (real servers)', () => {
  let tmp = '';
  let runs = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lab-replay-'));
    runs = join(tmp, 'runs');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('runs the saved plan as it is, prints run.json and its folder, and replays it to the same verdict', async () => {
    const seedDir = join(tmp, 'instance-crash-1seeds-saved', 'seed-1');
    cpSync(fixture, seedDir, { recursive: true });
    const plan = JSON.parse(readFileSync(join(seedDir, 'plan.json'), 'utf8')) as {
      publishes: { key: string }[];
      faults: unknown[];
    };
    // One whole batch (its registration and every content), no fault: not what the generator draws for seed 1.
    const kept = plan.publishes.filter((p) => p.key === 's1-b12');
    expect(kept.length).toBeGreaterThan(5);
    writeFileSync(join(seedDir, 'plan.json'), JSON.stringify({ ...plan, publishes: kept, faults: [] }));

    const child = spawn(
      process.execPath,
      [cli, 'run', 'instance-crash', '--seed', '1', '--plan', join(seedDir, 'plan.json'), '--json'],
      { env: { ...process.env, LAB_RUNS_DIR: runs }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code, err.slice(-3000)).toBe(0);
    // stdout is the record alone; the verdict table and the progress went to stderr.
    const printed = JSON.parse(out) as Record<string, unknown>;
    const { suiteDir, ...record } = printed;
    expect(suiteRecordSchema.parse(record)).toMatchObject({ suite: 'instance-crash', seeds: [1] });
    expect(JSON.parse(readFileSync(join(suiteDir as string, 'run.json'), 'utf8'))).toEqual(record);
    expect(err).toContain('instance-crash (seed 1): VALID');
    expect(err).toMatch(/lab: instance-crash: seed 1 VALID; 1\/1 seeds done, 0 with violations so far/);
    const runDir = join(suiteDir as string, 'seed-1');
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as { stats: { published: number } };
    expect(summary.stats.published).toBe(kept.length);
    expect(existsSync(join(runDir, 'charts.json'))).toBe(true);

    const before = process.env.LAB_RUNS_DIR;
    process.env.LAB_RUNS_DIR = runs;
    try {
      const replay = await replaySeedFolder(runDir);
      expect(replay).toMatchObject({ matches: true, recorded: 'VALID', replayed: 'VALID' });
      expect(replay.result.runDir).not.toBe(runDir);
      const again = JSON.parse(readFileSync(join(replay.result.runDir, 'plan.json'), 'utf8')) as {
        publishes: unknown[];
      };
      expect(again.publishes).toEqual(kept);
    } finally {
      if (before === undefined) delete process.env.LAB_RUNS_DIR;
      else process.env.LAB_RUNS_DIR = before;
    }
  }, 240_000);
});
