#!/usr/bin/env node
/**
 * `lab` — the lab's command line: this file dispatches, each command lives in its own module of `cli/`.
 *
 *   lab env up [--instances N]     start the local environment (+ N coordinator instances), print the endpoints, run until Ctrl-C
 *   lab run <suite> --seed N       run one suite (scenarios/<suite>/) with a seed
 *   lab run --all                  run every suite, each to its end, and print one table
 *   lab list                       the suites, fault kinds, checkers and known-bad variants, one line each
 *   lab report <run folder>        rebuild a run folder's report(s) from what it saved
 *   lab replay <run folder>        run a recorded seed again from its own plan; say whether the verdict matches (--json)
 *   lab reap [--dry-run]           stop servers and remove work dirs left by a lab process that was killed
 */
import { InvalidArgumentError } from './errors.js';
import { isExiting } from './process/cleanup.js';
import { envCommand } from './cli/env.js';
import { listCommand } from './cli/list.js';
import { reapCommand } from './cli/reap.js';
import { replayCommand } from './cli/replay.js';
import { reportCommand } from './cli/report.js';
import { runCommand } from './cli/run.js';
import { shrinkCommand } from './cli/shrink.js';
import { variantsCommand } from './cli/variants.js';
import { verdictsCommand } from './cli/verdicts.js';

const usage = `usage:
  lab env up [--instances N]      environment + N coordinator instances (default 3) until Ctrl-C
  lab run <suite> [--seed N]... [--seeds A..B] [--variant NAME] [--plan FILE] [--shard k/n] [--shrink] [--json]
                                  run one suite (scenarios/<suite>/); --json: its run.json and folder on stdout
  lab run --all [--skip a,b] | <suite>… [--seeds 1..3]
                                  run suites side by side (LAB_SUITE_CONCURRENCY, default 4), each to its end; one table
  lab list [suites|faults|checkers|variants] [--json]
                                  what there is to run and judge, one line each
  lab report <run folder>         rebuild report.html from the folder alone (a suite folder: every seed's)
  lab replay <run folder> [--all] [--json]
                                  run a seed again from its folder's plan.json (a suite folder: its failing seeds,
                                  every seed with --all); print the new folder and whether the verdict matches;
                                  --json: the replays (folders, both verdicts, failing checkers) on stdout
  lab variants [--seeds 1..3] [--scenarios a,b] [--variants x,y] [--concurrency 3]
                                  run known-bad coordinator variants against the scenarios; print the matrix
  lab shrink <scenario> --seed N [--max-runs 30] [--max-minutes 15] [--checker NAME]... [--matching REGEX]
                                  cut a failing seed's plan down to a minimal one that still fails; print its replay
  lab verdicts join <run folder>... [--out DIR] [--json]   one verdict table of suite runs (e.g. shards)
  lab reap [--dry-run]            clean up after a lab process that was killed: every chaos-lab-* folder in the
                                  temp dir whose owner is gone (or that has none and nothing uses), with its size
                                  and why; --dry-run only lists them
`;

const COMMANDS = ['env up', 'run', 'list', 'report', 'replay', 'verdicts join', 'variants', 'shrink', 'reap'];

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'env') return envCommand(rest);
  if (cmd === 'run') return runCommand(rest);
  if (cmd === 'list') return listCommand(rest);
  if (cmd === 'report') return reportCommand(rest);
  if (cmd === 'replay') return replayCommand(rest);
  if (cmd === 'shrink') return shrinkCommand(rest);
  if (cmd === 'variants') return variantsCommand(rest);
  if (cmd === 'verdicts') return verdictsCommand(rest);
  if (cmd === 'reap') return reapCommand(rest);
  if (cmd !== undefined && cmd !== '--help' && cmd !== 'help')
    process.stderr.write(`lab: ${new InvalidArgumentError('command', cmd, `one of ${COMMANDS.join(', ')}`).message}\n`);
  process.stderr.write(usage);
  return cmd === undefined || cmd === '--help' || cmd === 'help' ? 0 : 2;
}

// A lab stopped by a signal (or by its reader going away) ends when its cleanup has run, by that signal: what
// fails meanwhile (a start cut short) must not end it first on the synchronous path.
main(process.argv.slice(2)).then(
  (code) => {
    if (!isExiting()) process.exit(code);
  },
  (err: unknown) => {
    if (isExiting()) return;
    process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
