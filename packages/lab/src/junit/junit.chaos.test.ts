/**
 * A real suite run's `junit.xml`, read with a JUnit parser (junit2json): the batch-timeout suite against the
 * known-bad `direct-ready-publish` coordinator, seed 1, through the built CLI as CI runs a suite. That variant
 * publishes `batch.ready` straight to Kafka, not through the outbox, in a form the contract refuses: every
 * seed of every suite catches it (outputs-well-formed), so the run has one failing seed, every time, in
 * about 30 s. What is asserted is that the file says exactly what the seed's `verdicts.json` says: one
 * testcase per checker (and finished-in-time), the failing ones with their first counterexample as the
 * message, the replay command in the output. The mixed case (valid and invalid seeds in one file) is in
 * junit.test.ts. In the chaos project (CI, or LAB_CHAOS_TESTS=1).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type TestSuites } from 'junit2json';
import { chaosTestsEnabled } from '../scenario/main.js';
import { defaultRunsDir } from '../scenario/scenario.js';
import { readSuiteRecord } from '../scenario/suite-record.js';
import { FINISHED_IN_TIME, SUITE_JUNIT, xmlSafe } from './junit.js';

const SUITE = 'batch-timeout';
const VARIANT = 'direct-ready-publish';
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli.js');

interface VerdictLine {
  readonly checker: string;
  readonly valid: boolean | 'unknown';
  readonly firstError?: { readonly message: string };
}

let child: ChildProcess | undefined;

/** The built CLI with `args`, to its end; its stdout, and all its output for a failure to show. */
function lab(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; output: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    let output = '';
    let stdout = '';
    c.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), (output += d.toString())));
    c.stderr.on('data', (d: Buffer) => (output += d.toString()));
    c.once('error', reject);
    c.once('close', (code) => resolve({ code, stdout, output }));
  });
}

afterAll(() => {
  // A run cut short by the test's timeout: SIGTERM lets the lab stop its servers and instances.
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});

describe.runIf(chaosTestsEnabled())(`junit.xml of a real run: ${SUITE} × ${VARIANT}, seed 1`, () => {
  it(
    "has a testcase per seed × checker; the failing checkers fail with the first counterexample of the seed's verdicts.json",
    async () => {
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
      const runsDir = join(defaultRunsDir(), `junit-chaos-${stamp}`);
      await mkdir(runsDir, { recursive: true });
      const run = await lab(['run', SUITE, '--seed', '1', '--variant', VARIANT, '--json'], { LAB_RUNS_DIR: runsDir });
      const folders = (await readdir(runsDir, { withFileTypes: true })).filter((d) => d.isDirectory());
      expect(
        folders.map((d) => d.name),
        run.output,
      ).toEqual([expect.stringMatching(new RegExp(`^${SUITE}-${VARIANT}-seed1-`))]);
      const suiteDir = join(runsDir, folders[0]!.name);
      const record = await readSuiteRecord(suiteDir);
      expect(record.results.map((r) => r.seed)).toEqual([1]);
      // The variant is caught on seed 1, by the contract check of the outputs, so the run exits 1.
      expect(record.results[0]!.valid, run.output).toBe(false);
      expect(record.results[0]!.checkers).toContainEqual(
        expect.objectContaining({ checker: 'outputs-well-formed', valid: false }),
      );
      expect(run.code).toBe(1);
      // --json: stdout is that record and its folder, nothing else.
      expect(JSON.parse(run.stdout), run.output).toEqual({ ...record, suiteDir });

      const junit = (await parse(await readFile(join(suiteDir, SUITE_JUNIT), 'utf8'))) as TestSuites;
      expect(junit.testsuite).toHaveLength(1);
      const ts = junit.testsuite![0]!;
      expect(ts.name).toBe(SUITE);
      expect(ts.properties).toContainEqual({ name: 'variant', value: VARIANT });
      let tests = 0;
      let failures = 0;
      for (const r of record.results) {
        const verdicts = JSON.parse(await readFile(join(suiteDir, r.dir, 'verdicts.json'), 'utf8')) as VerdictLine[];
        const cases = (ts.testcase ?? []).filter((c) => c.classname === `${SUITE}.${VARIANT}.seed-${r.seed}`);
        // One testcase per checker of the seed, in its order, and the seed's finished-in-time.
        expect(cases.map((c) => c.name)).toEqual([...verdicts.map((v) => v.checker), FINISHED_IN_TIME]);
        const failing = verdicts.filter((v) => v.valid === false);
        expect(cases.filter((c) => c.failure).map((c) => c.name)).toEqual([
          ...failing.map((v) => v.checker),
          ...(r.stalled || r.timedOut === true ? [FINISHED_IN_TIME] : []),
        ]);
        for (const v of failing) {
          const c = cases.find((x) => x.name === v.checker)!;
          expect(c.failure).toHaveLength(1);
          expect(c.failure![0]!.message).toBe(xmlSafe(v.firstError!.message));
        }
        expect(cases.filter((c) => c.error).map((c) => c.name)).toEqual(
          verdicts.filter((v) => v.valid === 'unknown').map((v) => v.checker),
        );
        for (const c of cases)
          expect(c['system-out']).toEqual([
            `replay: npm run lab -- run ${SUITE} --seed ${r.seed} --variant ${VARIANT}\nseed folder: ${join(suiteDir, r.dir)}${r.voidRuns > 0 ? `\nvoid runs before this one (the environment broke): ${r.voidRuns}` : ''}`,
          ]);
        tests += cases.length;
        failures += cases.filter((c) => c.failure).length;
      }
      expect(ts).toMatchObject({ tests, failures });
      expect(failures).toBeGreaterThan(0);

      // The same folder through `lab verdicts join`: the failing seed is INVALID with its checkers.
      const joined = await lab(['verdicts', 'join', suiteDir]);
      expect(joined.code).toBe(1);
      const failed = record.results[0]!.checkers.filter((c) => c.valid !== true).map((c) => c.checker);
      expect(joined.output).toMatch(
        new RegExp(
          `│ ${SUITE} +│ ${VARIANT} +│ 1 +│ INVALID +│ ${failed.join(', ')}${record.results[0]!.stalled ? ', stalled' : record.results[0]!.timedOut ? ', timed out' : ''} +│`,
        ),
      );
      process.stdout.write(`${run.output}\n$ lab verdicts join ${suiteDir}\n${joined.output}`);
    },
    15 * 60_000,
  );
});
