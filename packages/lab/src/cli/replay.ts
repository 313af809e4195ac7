/**
 * `lab replay <run folder> [--all] [--json]`: runs a recorded seed again from its folder's own `plan.json` — the
 * same suite, seed and variant, exactly those publishes and faults, whatever the generator draws today — on a
 * fresh session, and says whether the verdict is the one recorded. A suite folder replays its failing seeds
 * (every seed with `--all`). Exit 0 when every replay's verdict matches the recorded one. With `--json`, stdout
 * is one {@link ReplayReport} (each replay's folders, both verdicts with their failing checkers, whether they
 * match, or why it could not run) and every other line goes to stderr.
 */
import { join } from 'node:path';
import type { Verdict } from '@chaos-lab/model';
import { errorFields, InvalidArgumentError, type ErrorFields } from '../errors.js';
import { coordinatorEntry } from '../scenario/main.js';
import { runSuite, type RunResult } from '../scenario/scenario.js';
import { PLAN, readSeedSummary, readSeedVerdicts } from '../scenario/seed-folder.js';
import { readPlanFile, withPlanFile } from '../scenario/shrink.js';
import { parseOptions } from './args.js';
import { RUN_FOLDER, seedFoldersOf } from './report.js';
import { loadScenario } from './workspace.js';

/** A verdict as a replay compares it. */
export interface ReplayVerdict {
  /** `VALID`, or `INVALID (the checkers it failed)`: what the lines print and what {@link ReplayOutcome.matches} compares. */
  readonly verdict: string;
  readonly valid: boolean;
  /** The checkers it failed (or could not decide), sorted. */
  readonly failing: string[];
}

function replayVerdict(valid: boolean, verdicts: readonly Pick<Verdict, 'checker' | 'valid'>[]): ReplayVerdict {
  const failing = verdicts
    .filter((v) => v.valid !== true)
    .map((v) => v.checker)
    .sort();
  return { verdict: verdictText(valid, failing), valid, failing };
}

/** `VALID`, or `INVALID (the checkers it failed)`. */
export function verdictText(valid: boolean, failed: readonly string[]): string {
  return valid ? 'VALID' : `INVALID${failed.length > 0 ? ` (${failed.join(', ')})` : ' (gave up waiting)'}`;
}

export interface ReplayOutcome {
  readonly from: string;
  readonly result: RunResult;
  readonly recorded: ReplayVerdict;
  readonly replayed: ReplayVerdict;
  /** Same verdict and the same failing checkers. */
  readonly matches: boolean;
}

/** One replay as `--json` prints it: its outcome, or why it could not run. */
export type ReplayLine =
  | {
      /** The seed folder replayed. */
      readonly from: string;
      /** The replay's own seed folder. */
      readonly replayDir: string;
      readonly recorded: ReplayVerdict;
      readonly replayed: ReplayVerdict;
      readonly matches: boolean;
    }
  | { readonly from: string; readonly error: ErrorFields };

/** What `lab replay --json` prints: every replay, and whether each ran and matched (what exit 0 means). */
export interface ReplayReport {
  /** The run folder as given. */
  readonly folder: string;
  readonly ok: boolean;
  readonly replays: ReplayLine[];
}

/**
 * Replays one seed folder: its suite, seed and variant, restricted to its `plan.json`. The run's result lines go
 * to `out` (default stdout).
 */
export async function replaySeedFolder(
  seedDir: string,
  opts: { readonly out?: (line: string) => void } = {},
): Promise<ReplayOutcome> {
  const summary = await readSeedSummary(seedDir);
  const recordedVerdicts = await readSeedVerdicts(seedDir);
  const { seed } = summary.stats;
  const variant = summary.variant ?? undefined;
  const def = await loadScenario(summary.scenario);
  const plan = join(seedDir, PLAN);
  const replayDef = withPlanFile(def, await readPlanFile(plan, def, seed));
  const suite = await runSuite(replayDef, {
    seeds: [seed],
    coordinatorEntry: coordinatorEntry(variant),
    ...(variant !== undefined && { variant }),
    ...(opts.out && { out: opts.out }),
    replayCommand: () =>
      `npm run lab -- run ${def.name} --seed ${seed}${variant ? ` --variant ${variant}` : ''} --plan ${plan}`,
  });
  const result = suite.results[0]!;
  const recorded = replayVerdict(summary.valid, recordedVerdicts);
  const replayed = replayVerdict(result.valid, result.verdicts);
  return { from: seedDir, result, recorded, replayed, matches: recorded.verdict === replayed.verdict };
}

/** The lines `lab replay` prints for one replay. */
function replayLines(r: ReplayLine): string[] {
  if ('error' in r) return [`${r.from}: could not be replayed: ${r.error.message}`];
  return [
    `${r.from}: replayed as ${r.replayDir}`,
    r.matches
      ? `  verdict matches the recorded one: ${r.replayed.verdict}`
      : `  verdict differs: recorded ${r.recorded.verdict}, replay ${r.replayed.verdict}`,
  ];
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions('lab replay', {
    args: argv,
    options: { all: { type: 'boolean' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1)
    throw new InvalidArgumentError('lab replay', positionals.join(' ') || undefined, `one argument, ${RUN_FOLDER}`);
  const folder = positionals[0]!;
  const json = values.json === true;
  const { suite, seeds } = await seedFoldersOf(folder, 'lab replay');
  // A suite's void runs are not its verdicts: each seed's last run is.
  const candidates = suite ? seeds.filter((d) => !/-void-\d+$/.test(d)) : seeds;
  const chosen: string[] = [];
  for (const d of candidates) if (!suite || values.all === true || !(await readSeedSummary(d)).valid) chosen.push(d);
  const replays: ReplayLine[] = [];
  if (chosen.length === 0) {
    const nothing = `no failing seed in ${folder}: nothing to replay (--all replays every seed)\n`;
    if (!json) {
      process.stdout.write(nothing);
      return 0;
    }
    process.stderr.write(`lab: ${nothing}`);
  }
  // With --json, stdout is the report's alone: the replays' verdict tables go where the progress goes.
  const out = json ? (l: string) => process.stderr.write(l + '\n') : undefined;
  for (const [i, seedDir] of chosen.entries()) {
    process.stderr.write(`lab: replay ${i + 1} of ${chosen.length}: ${seedDir}\n`);
    try {
      const o = await replaySeedFolder(seedDir, { ...(out && { out }) });
      const { from, recorded, replayed, matches } = o;
      replays.push({ from, replayDir: o.result.runDir, recorded, replayed, matches });
    } catch (err) {
      replays.push({ from: seedDir, error: errorFields(err) });
    }
  }
  const ok = replays.every((r) => 'matches' in r && r.matches);
  if (json) {
    const report: ReplayReport = { folder, ok, replays };
    process.stdout.write(JSON.stringify(report, null, 1) + '\n');
  } else process.stdout.write(`\n${replays.flatMap(replayLines).join('\n')}\n`);
  return ok ? 0 : 1;
}
