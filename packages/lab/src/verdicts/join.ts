/**
 * `lab verdicts join`: the verdicts of several suite runs (`run.json` each) as one — the shards of a CI
 * matrix put back together, or a suite's runs side by side. Pure: suite records in, a joined result and
 * its table, summary and Markdown out.
 *
 * One row per (suite, variant, seed), ordered by suite, variant, seed. The table holds only what a seed
 * came to (verdict and failed checkers), never a time or a folder, so the table of one unsharded run and
 * the table of its shards joined are the same text, and `diff` of two joined tables shows only verdicts
 * that differ. Times and run counts go in the summary lines below it.
 *
 * What a join checks: for each group of shards (one suite and variant, one list of seeds, one shard
 * count), which shards are missing; that no seed appears twice (two folders name it); and that every
 * seed a run was asked for was run. A seed that was not (its suite could not start, an error stopped the
 * run, or it stopped early) is a `NOT RUN` row of the table, with why, besides that problem.
 */
import Table from 'cli-table3';
import { join } from 'node:path';
import { notRunOf, type SeedRecordLine, type SuiteRecord } from '../scenario/suite-record.js';
import { shardSeeds } from '../scenario/shard.js';
import { lateness } from '../junit/junit.js';

export interface RunFolder {
  /** The suite folder, as the caller named it. */
  readonly dir: string;
  readonly record: SuiteRecord;
}

export interface JoinedSeed {
  readonly suite: string;
  readonly variant: string | null;
  readonly seed: number;
  readonly valid: boolean;
  readonly stalled: boolean;
  /**
   * What failed: each checker not valid (one that could not decide as `<name> (unknown)`), then `stalled`
   * or `timed out` when the seed did not finish in time.
   */
  readonly failed: string[];
  readonly wallMs: number;
  /** The suite folder that holds this seed. */
  readonly run: string;
  /** The seed's own folder. */
  readonly dir: string;
  readonly replayCommand?: string;
  readonly checkers: SeedRecordLine['checkers'];
}

/** A seed a run asked for that no run holds a result of. */
export interface JoinedNotRun {
  readonly suite: string;
  readonly variant: string | null;
  readonly seed: number;
  /** Why: the suite could not start, an error stopped the run, or the run stopped early. */
  readonly reason: string;
  /** The error that left the seed without a result (class name and message), when one did. */
  readonly error?: NonNullable<SuiteRecord['error']>;
  /** The suite folder that asked for it. */
  readonly run: string;
  readonly replayCommand?: string;
}

export interface JoinedSuite {
  readonly suite: string;
  readonly variant: string | null;
  /** Seeds with a result. */
  readonly seeds: number;
  readonly valid: number;
  /** Seeds asked for that have no result (a missing shard's, or a run that stopped early). */
  readonly missingSeeds: number;
  readonly runs: number;
  /** How the runs divide the seeds: `unsharded`, `4 shards of 4`, `3 shards of 4 (shard 2 missing)`, … */
  readonly sharding: string;
  /** The seeds' wall time added up. */
  readonly seedMs: number;
}

export interface JoinProblem {
  readonly kind: 'missing-shard' | 'duplicate-seed' | 'seed-not-run';
  readonly suite: string;
  readonly variant: string | null;
  readonly message: string;
}

export interface Joined {
  /** Every seed valid, no shard missing, no seed twice, none left unrun: what exit 0 means. */
  readonly ok: boolean;
  readonly suites: JoinedSuite[];
  readonly seeds: JoinedSeed[];
  /** Seeds asked for and never run, ordered as `seeds`; each is a `seed-not-run` problem too. */
  readonly notRun: JoinedNotRun[];
  readonly problems: JoinProblem[];
}

const key = (suite: string, variant: string | null) => JSON.stringify([suite, variant]);
const label = (suite: string, variant: string | null) => (variant === null ? suite : `${suite} (variant ${variant})`);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A list of numbers, cut after `max` of them. */
function list(ns: readonly number[], max = 10): string {
  return ns.length <= max ? ns.join(', ') : `${ns.slice(0, max).join(', ')}, … (${ns.length} in all)`;
}

/** Why a seed was not run: the reason, and the error's class (and with `message`, its message's first line). */
export function notRunText(n: Pick<JoinedNotRun, 'reason' | 'error'>, message = false): string {
  if (n.error === undefined) return n.reason;
  return `${n.reason}: ${n.error.name}${message ? `: ${n.error.message.split('\n')[0]}` : ''}`;
}

/** Orders rows by suite, variant, seed. */
function bySuiteSeed(a: Pick<JoinedSeed, 'suite' | 'variant' | 'seed'>, b: typeof a): number {
  return a.suite.localeCompare(b.suite) || (a.variant ?? '').localeCompare(b.variant ?? '') || a.seed - b.seed;
}

/** What failed in a seed, in the order the checkers ran. */
export function failedOf(r: SeedRecordLine): string[] {
  const failed = r.checkers
    .filter((c) => c.valid !== true)
    .map((c) => (c.valid === 'unknown' ? `${c.checker} (unknown)` : c.checker));
  const late = lateness(r);
  if (late !== undefined) failed.push(r.stalled ? 'stalled' : 'timed out');
  return failed;
}

export function joinRuns(runs: readonly RunFolder[]): Joined {
  const problems: JoinProblem[] = [];
  const rows = new Map<string, JoinedSeed>();
  for (const { dir, record } of runs) {
    for (const r of record.results) {
      const k = JSON.stringify([record.suite, record.variant, r.seed]);
      const before = rows.get(k);
      if (before) {
        problems.push({
          kind: 'duplicate-seed',
          suite: record.suite,
          variant: record.variant,
          message: `${label(record.suite, record.variant)}: seed ${r.seed} appears twice: in ${before.run} and in ${dir}`,
        });
        continue;
      }
      rows.set(k, {
        suite: record.suite,
        variant: record.variant,
        seed: r.seed,
        valid: r.valid,
        stalled: r.stalled,
        failed: failedOf(r),
        wallMs: r.wallMs,
        run: dir,
        dir: join(dir, r.dir),
        ...(r.replayCommand !== undefined && { replayCommand: r.replayCommand }),
        checkers: r.checkers,
      });
    }
  }
  const seeds = [...rows.values()].sort(bySuiteSeed);
  const notRun = new Map<string, JoinedNotRun>();

  // Per suite and variant: its runs, their shard groups, the seeds asked for and not run.
  const bySuite = new Map<string, RunFolder[]>();
  for (const run of runs) {
    const k = key(run.record.suite, run.record.variant);
    bySuite.set(k, [...(bySuite.get(k) ?? []), run]);
  }
  const suites: JoinedSuite[] = [];
  for (const group of bySuite.values()) {
    const { suite, variant } = group[0]!.record;
    const mine = seeds.filter((s) => s.suite === suite && s.variant === variant);
    const have = new Set(mine.map((s) => s.seed));
    const asked = new Set<number>();
    const parts: string[] = [];
    const unsharded = group.filter((g) => g.record.shard === null);
    if (unsharded.length > 0) parts.push(`${unsharded.length} unsharded`);
    for (const g of unsharded) for (const s of g.record.seeds) asked.add(s);
    const shardGroups = new Map<string, RunFolder[]>();
    for (const g of group) {
      const shard = g.record.shard;
      if (shard === null) continue;
      const k = JSON.stringify([shard.count, shard.of]);
      shardGroups.set(k, [...(shardGroups.get(k) ?? []), g]);
    }
    for (const shards of shardGroups.values()) {
      const { count, of } = shards[0]!.record.shard!;
      for (const s of of) asked.add(s);
      const present = new Set(shards.map((g) => g.record.shard!.index));
      const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !present.has(i));
      for (const index of missing)
        problems.push({
          kind: 'missing-shard',
          suite,
          variant,
          message: `${label(suite, variant)}: shard ${index} of ${count} is missing (its seeds ${list(shardSeeds(of, { index, count }))}, of ${of.length} in all)`,
        });
      parts.push(
        `${plural(present.size, 'shard')} of ${count}${missing.length === 0 ? '' : ` (${missing.length === 1 ? 'shard' : 'shards'} ${list(missing)} missing)`}`,
      );
    }
    // Seeds a present run was asked for but did not run, and no other run holds: one problem per run and reason.
    for (const g of group) {
      const { error } = g.record;
      const mineNotRun = notRunOf(g.record).filter((n) => !have.has(n.seed));
      for (const reason of new Set(mineNotRun.map((n) => n.reason))) {
        const ns = mineNotRun.filter((n) => n.reason === reason).map((n) => n.seed);
        const why = notRunText({ reason, ...(error && { error }) }, true);
        problems.push({
          kind: 'seed-not-run',
          suite,
          variant,
          message: `${label(suite, variant)}: ${ns.length === 1 ? 'seed' : 'seeds'} ${list(ns)} of ${g.dir} never ran (${why})`,
        });
      }
      for (const n of mineNotRun) {
        const k = JSON.stringify([suite, variant, n.seed]);
        if (!notRun.has(k))
          notRun.set(k, {
            suite,
            variant,
            seed: n.seed,
            reason: n.reason,
            ...(error && { error }),
            run: g.dir,
            ...(n.replayCommand !== undefined && { replayCommand: n.replayCommand }),
          });
      }
    }
    const runsPart =
      parts.length === 1 && unsharded.length > 0
        ? `${plural(group.length, 'run')}, unsharded`
        : parts.length === 1
          ? `${plural(group.length, 'run')}, ${parts[0]}`
          : `${plural(group.length, 'run')}: ${parts.join(', ')}`;
    suites.push({
      suite,
      variant,
      seeds: mine.length,
      valid: mine.filter((s) => s.valid).length,
      missingSeeds: [...asked].filter((s) => !have.has(s)).length,
      runs: group.length,
      sharding: runsPart,
      seedMs: mine.reduce((ms, s) => ms + s.wallMs, 0),
    });
  }
  suites.sort((a, b) => a.suite.localeCompare(b.suite) || (a.variant ?? '').localeCompare(b.variant ?? ''));
  return {
    ok: problems.length === 0 && seeds.every((s) => s.valid),
    suites,
    seeds,
    notRun: [...notRun.values()].sort(bySuiteSeed),
    problems,
  };
}

/**
 * The table of seeds: suite, variant, seed, verdict, failed checkers — for a seed never run, `NOT RUN` and why.
 * No time, no folder (see the header).
 */
export function formatJoinTable(j: Joined): string {
  const table = new Table({
    head: ['suite', 'variant', 'seed', 'verdict', 'failed checkers'],
    style: { head: [], border: [] },
  });
  const rows = [
    ...j.seeds.map((s) => ({ ...s, cells: [s.valid ? 'VALID' : 'INVALID', s.failed.join(', ') || '-'] })),
    ...j.notRun.map((n) => ({ ...n, cells: ['NOT RUN', notRunText(n)] })),
  ].sort(bySuiteSeed);
  for (const r of rows) table.push([r.suite, r.variant ?? '-', r.seed, ...r.cells]);
  return table.toString();
}

/** One line per suite and variant: `pipeline: 200/200 seeds valid; 4 runs, 4 shards of 4; seed time total 812.3 s`. */
export function summaryLines(j: Joined): string[] {
  return j.suites.map(
    (s) =>
      `${label(s.suite, s.variant)}: ${s.valid}/${s.seeds} seeds valid${s.missingSeeds > 0 ? ` (${s.missingSeeds} of ${s.seeds + s.missingSeeds} missing)` : ''}; ${s.sharding}; seed time total ${(s.seedMs / 1000).toFixed(1)} s`,
  );
}

/** The table, the summary lines and the problems: what `lab verdicts join` prints. */
export function formatJoin(j: Joined): string {
  const lines = [formatJoinTable(j), ...summaryLines(j)];
  if (j.problems.length > 0) lines.push(...j.problems.map((p) => `${p.kind}: ${p.message}`));
  return lines.join('\n') + '\n';
}

/**
 * Text as one Markdown table cell that renders as itself: on one line, with a backslash before each
 * character that starts inline markup, an entity, HTML or a cell border (`\\ \` * _ [ ] < > & | ~`).
 */
export function markdownCell(text: string, max = 200): string {
  const chars = [...text];
  const cut = chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
  // eslint-disable-next-line no-control-regex -- control characters are what it removes
  return cut.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/[\\`*_[\]<>&|~]/g, (c) => `\\${c}`);
}

/** A command as a Markdown code span, or as an escaped cell when it holds what a code span cannot. */
function markdownCode(text: string): string {
  // eslint-disable-next-line no-control-regex -- a code span cannot hold a control character
  return /^[^`|\u0000-\u001f\u007f]*$/.test(text) ? `\`${text}\`` : markdownCell(text);
}

/** A replay command's Markdown cell: `-` when there is none. */
function replayCell(command: string | undefined): string {
  return command === undefined ? '-' : markdownCode(command);
}

/**
 * `verdicts.md`, for a CI job's summary page: the counts per suite, every failing seed with its first
 * counterexample and replay command, every seed not run with why, and the problems — never the valid seeds
 * one by one.
 */
export function joinMarkdown(j: Joined): string {
  const out: string[] = [`## Chaos verdicts: ${j.ok ? 'all valid' : 'NOT all valid'}`, ''];
  out.push('| suite | variant | seeds valid | runs | seed time |', '| --- | --- | --- | --- | --- |');
  for (const s of j.suites)
    out.push(
      `| ${markdownCell(s.suite)} | ${markdownCell(s.variant ?? '-')} | ${s.valid}/${s.seeds}${s.missingSeeds > 0 ? ` (${s.missingSeeds} missing)` : ''} | ${markdownCell(s.sharding)} | ${(s.seedMs / 1000).toFixed(1)} s |`,
    );
  const failing = j.seeds.filter((s) => !s.valid);
  if (failing.length > 0) {
    out.push('', `### Failing seeds (${failing.length})`, '');
    out.push(
      '| suite | variant | seed | failed | first counterexample | replay |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const s of failing) {
      const first = s.checkers.find((c) => c.valid !== true && c.firstError !== undefined);
      const firstText = first ? `${first.checker}: ${first.firstError!}` : s.stalled ? 'stalled' : '-';
      out.push(
        `| ${markdownCell(s.suite)} | ${markdownCell(s.variant ?? '-')} | ${s.seed} | ${markdownCell(s.failed.join(', '))} | ${markdownCell(firstText)} | ${replayCell(s.replayCommand)} |`,
      );
    }
  }
  if (j.notRun.length > 0) {
    out.push('', `### Seeds not run (${j.notRun.length})`, '');
    out.push('| suite | variant | seed | why | replay |', '| --- | --- | --- | --- | --- |');
    for (const n of j.notRun)
      out.push(
        `| ${markdownCell(n.suite)} | ${markdownCell(n.variant ?? '-')} | ${n.seed} | ${markdownCell(notRunText(n, true))} | ${replayCell(n.replayCommand)} |`,
      );
  }
  if (j.problems.length > 0) {
    out.push('', `### Problems (${j.problems.length})`, '');
    for (const p of j.problems) out.push(`- ${markdownCell(`${p.kind}: ${p.message}`, 500)}`);
  }
  return out.join('\n') + '\n';
}
