/**
 * A suite that cannot start still leaves its record. The real cause, cheap and the same on every machine: the
 * built CLI runs `lab run pipeline --seeds 1..3 --json` with a `PATH` that holds no `redis-server`, so the local
 * environment's start fails (MissingDependencyError) in about a second, before any seed began. The suite
 * folder must then hold a `run.json` that says the suite did not start, with the error, and every seed as not
 * run; a `junit.xml` (read with a JUnit parser, as CI reads it) with an `<error>` testcase per seed; and
 * `lab verdicts join` of the folder must show the seeds as not run, with why, and exit 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, type TestSuites } from 'junit2json';
import { runBuiltCli as lab } from '../cli/commands.test-support.js';
import { NOT_RUN, SUITE_JUNIT } from '../junit/junit.js';
import type { Joined } from '../verdicts/join.js';
import { NOT_RUN_REASONS, readSuiteRecord } from './suite-record.js';

const MISSING = 'redis-server was not found on this machine; install it with: apt-get install -y redis-server';

let tmp = '';
let runsDir = '';
let run: Awaited<ReturnType<typeof lab>>;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'lab-not-started-'));
  runsDir = join(tmp, 'runs');
  const emptyBin = join(tmp, 'bin');
  await mkdir(emptyBin);
  // node itself is spawned by its path; every child the lab starts is too, or is looked up where it is installed.
  run = await lab(['run', 'pipeline', '--seeds', '1..3', '--json'], { PATH: emptyBin, LAB_RUNS_DIR: runsDir });
}, 120_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function suiteDir(): Promise<string> {
  const folders = await readdir(runsDir);
  expect(folders, run.err).toEqual([expect.stringMatching(/^pipeline-3seeds-\d{8}T\d{6}$/)]);
  return join(runsDir, folders[0]!);
}

describe('a suite that cannot start (no redis-server on PATH)', () => {
  it('exits 1 with the error line it always printed, and names its record', async () => {
    expect(run.code, run.err).toBe(1);
    expect(run.err).toContain(`pipeline: could not run: ${MISSING}\n`);
    expect(run.err).toContain(`lab: pipeline: could not start; recorded in ${join(await suiteDir(), 'run.json')}`);
  });

  it('prints that record with --json on stdout, as a suite that ran does', async () => {
    const dir = await suiteDir();
    expect(JSON.parse(run.out)).toEqual({ ...(await readSuiteRecord(dir)), suiteDir: dir });
  });

  it('writes run.json: not started, the error with its class, every seed not run with its replay command', async () => {
    const record = await readSuiteRecord(await suiteDir());
    expect(record).toMatchObject({
      suite: 'pipeline',
      seeds: [1, 2, 3],
      results: [],
      started: false,
      error: { name: 'MissingDependencyError', message: MISSING },
    });
    expect(record.notRun).toEqual(
      [1, 2, 3].map((seed) => ({
        seed,
        reason: NOT_RUN_REASONS.notStarted,
        replayCommand: `npm run lab -- run pipeline --seed ${seed}`,
      })),
    );
  });

  it('writes junit.xml: one not-run testcase per seed, an <error> (not <skipped>) with the start error', async () => {
    const dir = await suiteDir();
    const junit = (await parse(await readFile(join(dir, SUITE_JUNIT), 'utf8'))) as TestSuites;
    expect(junit).toMatchObject({ tests: 3, errors: 3, failures: 0, skipped: 0 });
    const [ts, ...more] = junit.testsuite ?? [];
    expect(more).toEqual([]);
    expect(ts!.name).toBe('pipeline');
    const cases = ts!.testcase ?? [];
    expect(cases.map((c) => `${c.classname} ${c.name}`)).toEqual(
      [1, 2, 3].map((seed) => `pipeline.seed-${seed} ${NOT_RUN}`),
    );
    for (const [i, c] of cases.entries()) {
      expect(c.skipped).toBeUndefined();
      expect(c.error).toHaveLength(1);
      expect(c.error![0]).toMatchObject({ message: MISSING, type: 'MissingDependencyError' });
      expect(c['system-out']).toEqual([
        `replay: npm run lab -- run pipeline --seed ${i + 1}\nnot run: ${NOT_RUN_REASONS.notStarted}\nsuite folder: ${dir}`,
      ]);
    }
  });

  it('lab verdicts join of its folder shows each seed as not run, with why, and exits 1', async () => {
    const dir = await suiteDir();
    const table = await lab(['verdicts', 'join', dir]);
    expect(table.code, table.err).toBe(1);
    for (const seed of [1, 2, 3])
      expect(table.out).toMatch(
        new RegExp(`│ pipeline +│ - +│ ${seed} +│ NOT RUN +│ the suite could not start: MissingDependencyError +│`),
      );
    expect(table.out).toContain(
      `seed-not-run: pipeline: seeds 1, 2, 3 of ${dir} never ran (the suite could not start: MissingDependencyError: ${MISSING})`,
    );
    const json = await lab(['verdicts', 'join', dir, '--json']);
    expect(json.code).toBe(1);
    const joined = JSON.parse(json.out) as Joined;
    expect(joined.ok).toBe(false);
    expect(joined.seeds).toEqual([]);
    expect(joined.notRun.map((n) => [n.seed, n.reason, n.error?.name, n.run])).toEqual(
      [1, 2, 3].map((seed) => [seed, NOT_RUN_REASONS.notStarted, 'MissingDependencyError', dir]),
    );
  });
});
