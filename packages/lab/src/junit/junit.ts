/**
 * A suite run as JUnit XML, the format every CI system shows: `junit.xml` beside `run.json` when a suite
 * ends, and the merged file of `lab verdicts join --out`. A pure function of suite records (`run.json`).
 *
 * The mapping, decided once here:
 * - one `<testsuite>` per suite run, named after the suite; its variant, shard, asked seeds and folder are
 *   `<properties>`, so the testsuite names stay the same across variants and shards;
 * - one `<testcase>` per seed × checker: classname `<suite>.seed-<N>` (`<suite>.<variant>.seed-<N>` for a
 *   variant, so a merged file never has two testcases of one name), name = the checker;
 * - plus one testcase per seed named {@link FINISHED_IN_TIME}: a stalled seed (or one that ran out of time)
 *   fails there, since no checker row says so. Every seed has the same testcases whatever its outcome, so
 *   two files compare testcase by testcase;
 * - an invalid checker is a `<failure>` whose `message` is its first counterexample's message exactly
 *   (characters XML cannot hold replaced, below); the body says how many there were and where they all are;
 * - a checker that could not decide (`'unknown'`, e.g. it threw) is an `<error>`, not `<skipped>`: the lab
 *   counts the seed invalid, and a skipped test would read as green in most CI views;
 * - a seed the run asked for but never ran is one testcase, `not-run`: an `<error>` when an error left it
 *   without a result — the suite could not start (its environment, a binary, a port) or an error stopped it —
 *   whose message is that error's message and whose type is its class, since CI must show red; `<skipped>` only
 *   when the run stopped early without an error. Its `<system-out>`: the replay command and why;
 * - time: the seed's wall time split evenly over its testcases, so that the testcase times of a seed add up
 *   to the seed's time and a suite's to its seeds' (the checkers themselves take milliseconds; what costs is
 *   driving and observing the seed, which no single checker owns). The testsuite's `time` is the run's wall
 *   time, sessions included;
 * - `<system-out>` of every testcase: the seed's replay command and folder.
 *
 * XML 1.0 cannot carry NUL, most C0 controls, U+FFFE/U+FFFF or a lone surrogate, even as a character
 * reference; counterexamples quote hostile inputs that hold all of them. Each is written as U+FFFD (the
 * seed's `verdicts.json` keeps the exact text). Everything else, `]]>`, quotes, `<`, `&`, tabs and line
 * breaks included, is escaped by the builder (junit-report-builder; why that one: the package README).
 */
import junitReportBuilderModule, { type Builder, type TestCase } from 'junit-report-builder';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { notRunOf, type SeedRecordLine, type SuiteRecord } from '../scenario/suite-record.js';

// The package assigns its builder to module.exports, but its types declare an ES default export; the
// default import is the builder at run time.
const junitReportBuilder = junitReportBuilderModule as unknown as Builder;

export const SUITE_JUNIT = 'junit.xml';

/** The testcase of each seed that fails when the seed stalled or ran out of time. */
export const FINISHED_IN_TIME = 'finished-in-time';

/** The testcase of a seed the run asked for and never ran. */
export const NOT_RUN = 'not-run';

/** What replaces a character XML 1.0 cannot hold. */
export const XML_REPLACEMENT = '\uFFFD';

/** Anything but XML 1.0's `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** `text` with every character XML 1.0 cannot hold replaced by {@link XML_REPLACEMENT}. */
export function xmlSafe(text: string): string {
  return text.replace(NOT_XML_CHAR, XML_REPLACEMENT);
}

export interface JunitSuite {
  readonly record: SuiteRecord;
  /** The suite's folder as the reader should find it: seed folders are named under it. Default: not named. */
  readonly dir?: string;
}

/** The JUnit XML of one or more suite runs: one `<testsuite>` each, in the order given. */
export function junitXml(suites: readonly JunitSuite[]): string {
  const builder = junitReportBuilder.newBuilder();
  for (const { record, dir } of suites) {
    const ts = builder.testSuite().name(xmlSafe(record.suite)).time(seconds(record.wallMs));
    ts.property('suite', xmlSafe(record.suite));
    if (record.variant !== null) ts.property('variant', xmlSafe(record.variant));
    if (record.shard !== null) ts.property('shard', `${record.shard.index}/${record.shard.count}`);
    ts.property('seeds', record.seeds.join(','));
    if (dir !== undefined) ts.property('folder', xmlSafe(dir));
    const className = (seed: number) =>
      xmlSafe(`${record.suite}${record.variant === null ? '' : `.${record.variant}`}.seed-${seed}`);
    for (const r of record.results) {
      const seedDir = dir === undefined ? r.dir : join(dir, r.dir);
      const out = xmlSafe(systemOut(r, seedDir));
      const each = seconds(r.wallMs / (r.checkers.length + 1));
      for (const c of r.checkers) {
        const tc = ts.testCase().className(className(r.seed)).name(xmlSafe(c.checker)).time(each);
        if (c.valid === false) failure(tc, c, seedDir);
        else if (c.valid === 'unknown')
          tc.error(
            xmlSafe(c.firstError ?? `${c.checker} could not decide`),
            'unknown',
            xmlSafe(`${c.checker} could not decide (a checker that throws, or whose input could not be read)`),
          );
        tc.standardOutput(out);
      }
      const done = ts.testCase().className(className(r.seed)).name(FINISHED_IN_TIME).time(each);
      const late = lateness(r);
      if (late !== undefined) done.failure(late, r.stalled ? 'stalled' : 'timed out');
      done.standardOutput(out);
    }
    for (const n of notRunOf(record)) {
      const tc = ts.testCase().className(className(n.seed)).name(NOT_RUN);
      const { error } = record;
      if (error === undefined) tc.skipped();
      else
        tc.error(
          xmlSafe(error.message),
          xmlSafe(error.name),
          xmlSafe(`${n.reason}; no checker ran: ${error.name}: ${error.message}`),
        );
      tc.standardOutput(
        xmlSafe(
          [
            ...(n.replayCommand === undefined ? [] : [`replay: ${n.replayCommand}`]),
            `not run: ${n.reason}`,
            ...(dir === undefined ? [] : [`suite folder: ${dir}`]),
          ].join('\n'),
        ),
      );
    }
  }
  return builder.build() + '\n';
}

/** Writes {@link SUITE_JUNIT} for one suite run into its folder. */
export async function writeSuiteJunit(suiteDir: string, record: SuiteRecord): Promise<string> {
  const file = join(suiteDir, SUITE_JUNIT);
  await writeFile(file, junitXml([{ record, dir: suiteDir }]));
  return file;
}

/**
 * Why a seed did not finish in time, or undefined when it did. The record keeps `stalled` and `timedOut`; in a
 * record written before `timedOut` was kept, a seed that is invalid while every checker held can only have run
 * out of time (a seed is valid when every verdict holds and it did not time out).
 */
export function lateness(r: SeedRecordLine): string | undefined {
  if (r.stalled) return 'stalled: the pipeline stopped making progress before every input settled';
  if (r.timedOut ?? (!r.valid && r.checkers.every((c) => c.valid === true)))
    return 'timed out: the pipeline did not finish within the time limit';
  return undefined;
}

function failure(tc: TestCase, c: SeedRecordLine['checkers'][number], seedDir: string): void {
  const n = `${c.errorCount} counterexample${c.errorCount === 1 ? '' : 's'}`;
  const message = c.firstError ?? `${c.checker} failed (${n}, none recorded)`;
  tc.failure(xmlSafe(message), 'invalid');
  tc.stacktrace(
    xmlSafe(
      `${c.checker}: ${n}${c.firstError === undefined ? '' : `; the first:\n${c.firstError}`}\nall: ${join(seedDir, 'verdicts.json')}`,
    ),
  );
}

function systemOut(r: SeedRecordLine, seedDir: string): string {
  return [
    ...(r.replayCommand === undefined ? [] : [`replay: ${r.replayCommand}`]),
    `seed folder: ${seedDir}`,
    ...(r.voidRuns > 0 ? [`void runs before this one (the environment broke): ${r.voidRuns}`] : []),
  ].join('\n');
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}
