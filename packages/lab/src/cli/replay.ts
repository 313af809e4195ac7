/**
 * `lab replay <run folder> [--all]`: runs a recorded seed again from its folder's own `plan.json` — the same
 * suite, seed and variant, exactly those publishes and faults, whatever the generator draws today — on a fresh
 * session, and says whether the verdict is the one recorded. A suite folder replays its failing seeds (every
 * seed with `--all`). Exit 0 when every replay's verdict matches the recorded one.
 */
import { join } from 'node:path';
import type { Verdict } from '@chaos-lab/model';
import { InvalidArgumentError } from '../errors.js';
import { coordinatorEntry } from '../scenario/main.js';
import { runSuite, type RunResult } from '../scenario/scenario.js';
import { PLAN, readSeedSummary, readSeedVerdicts } from '../scenario/seed-folder.js';
import { readPlanFile, withPlanFile } from '../scenario/shrink.js';
import { parseOptions } from './args.js';
import { RUN_FOLDER, seedFoldersOf } from './report.js';
import { loadScenario } from './workspace.js';

/** The checkers a set of verdicts failed (or could not decide), sorted. */
function failing(verdicts: readonly Pick<Verdict, 'checker' | 'valid'>[]): string[] {
  return verdicts
    .filter((v) => v.valid !== true)
    .map((v) => v.checker)
    .sort();
}

/** `VALID`, or `INVALID (the checkers it failed)`. */
export function verdictText(valid: boolean, failed: readonly string[]): string {
  return valid ? 'VALID' : `INVALID${failed.length > 0 ? ` (${failed.join(', ')})` : ' (gave up waiting)'}`;
}

export interface ReplayOutcome {
  readonly from: string;
  readonly result: RunResult;
  readonly recorded: string;
  readonly replayed: string;
  /** Same verdict and the same failing checkers. */
  readonly matches: boolean;
}

/** Replays one seed folder: its suite, seed and variant, restricted to its `plan.json`. */
export async function replaySeedFolder(seedDir: string): Promise<ReplayOutcome> {
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
    replayCommand: () =>
      `npm run lab -- run ${def.name} --seed ${seed}${variant ? ` --variant ${variant}` : ''} --plan ${plan}`,
  });
  const result = suite.results[0]!;
  const recorded = verdictText(summary.valid, failing(recordedVerdicts));
  const replayed = verdictText(result.valid, failing(result.verdicts));
  return { from: seedDir, result, recorded, replayed, matches: recorded === replayed };
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions('lab replay', {
    args: argv,
    options: { all: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1)
    throw new InvalidArgumentError('lab replay', positionals.join(' ') || undefined, `one argument, ${RUN_FOLDER}`);
  const { suite, seeds } = await seedFoldersOf(positionals[0]!, 'lab replay');
  // A suite's void runs are not its verdicts: each seed's last run is.
  const candidates = suite ? seeds.filter((d) => !/-void-\d+$/.test(d)) : seeds;
  const chosen: string[] = [];
  for (const d of candidates) if (!suite || values.all === true || !(await readSeedSummary(d)).valid) chosen.push(d);
  if (chosen.length === 0) {
    process.stdout.write(`no failing seed in ${positionals[0]}: nothing to replay (--all replays every seed)\n`);
    return 0;
  }
  const lines: string[] = [];
  let mismatches = 0;
  for (const [i, seedDir] of chosen.entries()) {
    process.stderr.write(`lab: replay ${i + 1} of ${chosen.length}: ${seedDir}\n`);
    const o = await replaySeedFolder(seedDir).catch((err: Error) => err);
    if (o instanceof Error) {
      mismatches++;
      lines.push(`${seedDir}: could not be replayed: ${o.message}`);
      continue;
    }
    if (!o.matches) mismatches++;
    lines.push(
      `${seedDir}: replayed as ${o.result.runDir}`,
      o.matches
        ? `  verdict matches the recorded one: ${o.replayed}`
        : `  verdict differs: recorded ${o.recorded}, replay ${o.replayed}`,
    );
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
  return mismatches === 0 ? 0 : 1;
}
