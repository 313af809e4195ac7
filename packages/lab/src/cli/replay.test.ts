/**
 * `lab replay`. Without servers: `--json` when there is nothing to replay, a replay that cannot run (the built
 * CLI with a PATH that holds no redis-server, so its suite cannot start, in about a second) and the argument
 * errors. On a real environment: `lab run <suite> --plan <seed folder>/plan.json --json` runs a saved plan (the
 * fixture's, cut to one whole batch and no fault, so that it is short) exactly as saved and prints its record on
 * stdout, and `lab replay <its folder> --json` comes to the same verdict. Two short real runs, so gated like the
 * chaos suites (CI, or LAB_CHAOS_TESTS=1).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaosTestsEnabled } from '../scenario/main.js';
import { readSuiteRecord, suiteRecordSchema } from '../scenario/suite-record.js';
import { runBuiltCli as lab, withOutput } from './commands.test-support.js';
import { replayCommand, type ReplayReport } from './replay.js';

const fixture = join(
  dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'instance-crash-5seeds-20261204T193801',
  'seed-1',
);

/** `lab replay` in this process. */
const replay = (...argv: string[]) => withOutput(() => replayCommand(argv));

describe('lab replay --json, and its arguments (no servers)', () => {
  let tmp = '';
  /** A suite folder whose one seed (the fixture's) is valid. */
  let suiteDir = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lab-replay-json-'));
    suiteDir = join(tmp, 'instance-crash-1seeds-saved');
    cpSync(fixture, join(suiteDir, 'seed-1'), { recursive: true });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('prints an empty list of replays on stdout when no seed failed, says why on stderr, and exits 0', async () => {
    const r = await replay(suiteDir, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ folder: suiteDir, ok: true, replays: [] } satisfies ReplayReport);
    expect(r.err).toBe(`lab: no failing seed in ${suiteDir}: nothing to replay (--all replays every seed)\n`);
    // Without --json, the line is the output, as before.
    const text = await replay(suiteDir);
    expect(text).toEqual({
      code: 0,
      out: `no failing seed in ${suiteDir}: nothing to replay (--all replays every seed)\n`,
      err: '',
    });
  });

  it('prints a replay that could not run with its error, keeps the progress on stderr, and exits 1', async () => {
    const runs = join(tmp, 'runs');
    const emptyBin = join(tmp, 'bin');
    mkdirSync(emptyBin, { recursive: true });
    const env = { PATH: emptyBin, LAB_RUNS_DIR: runs };
    const r = await lab(['replay', suiteDir, '--all', '--json'], env);
    expect(r.code, r.err).toBe(1);
    const seedDir = join(suiteDir, 'seed-1');
    const missing = 'redis-server was not found on this machine; install it with: apt-get install -y redis-server';
    expect(JSON.parse(r.out)).toEqual({
      folder: suiteDir,
      ok: false,
      replays: [{ from: seedDir, error: { name: 'MissingDependencyError', message: missing } }],
    } satisfies ReplayReport);
    expect(r.err).toContain(`lab: replay 1 of 1: ${seedDir}\n`);
    // The replay's own suite folder says it could not start.
    const [replayed] = readdirSync(runs);
    expect(await readSuiteRecord(join(runs, replayed!))).toMatchObject({ suite: 'instance-crash', started: false });
    // Without --json: the same outcome as a line, the same exit code.
    const text = await lab(['replay', suiteDir, '--all'], env);
    expect(text.code).toBe(1);
    expect(text.out).toBe(`\n${seedDir}: could not be replayed: ${missing}\n`);
  });

  it.each([
    [['x', '--json=1'], '--json: expected no value (--json is a flag) (got "1")'],
    [['x', '--frob'], 'lab replay: expected one of its options: --all, --json (got "--frob")'],
    [['a', 'b', '--json'], 'lab replay: expected one argument, a run folder'],
    [['--json'], 'lab replay: expected one argument, a run folder'],
  ])('refuses %j, naming the argument and what it expected', async (argv, message) => {
    await expect(replay(...argv)).rejects.toThrow(message);
  });
});

describe.skipIf(!chaosTestsEnabled())('lab run --plan … --json, then lab replay (real servers)', () => {
  let tmp = '';
  let runs = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lab-replay-'));
    runs = join(tmp, 'runs');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('runs the saved plan as it is, prints run.json and its folder, and lab replay --json comes to the same verdict', async () => {
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

    const { code, out, err } = await lab(
      ['run', 'instance-crash', '--seed', '1', '--plan', join(seedDir, 'plan.json'), '--json'],
      { LAB_RUNS_DIR: runs },
    );
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

    const replayed = await lab(['replay', runDir, '--json'], { LAB_RUNS_DIR: runs });
    expect(replayed.code, replayed.err.slice(-3000)).toBe(0);
    // stdout is the report alone; the replay's verdict lines went to stderr.
    const report = JSON.parse(replayed.out) as ReplayReport;
    const valid = { verdict: 'VALID', valid: true, failing: [] };
    expect(report).toMatchObject({
      folder: runDir,
      ok: true,
      replays: [{ from: runDir, recorded: valid, replayed: valid, matches: true }],
    });
    expect(replayed.err).toContain('instance-crash (seed 1): VALID');
    const [one] = report.replays;
    if (one === undefined || 'error' in one) throw new Error(`no replay: ${replayed.out}`);
    expect(one.replayDir).not.toBe(runDir);
    const again = JSON.parse(readFileSync(join(one.replayDir, 'plan.json'), 'utf8')) as { publishes: unknown[] };
    expect(again.publishes).toEqual(kept);
  }, 240_000);
});
