#!/usr/bin/env node
/**
 * `lab` — the lab's command line.
 *
 *   lab env up [--instances N]     start the local environment (+ N coordinator instances), print the endpoints, run until Ctrl-C
 *   lab run <suite> --seed N       run one suite (scenarios/<suite>/) with a seed
 *   lab run --all                  run every suite, each to its end, and print one table
 *   lab reap [--dry-run]           stop servers and remove work dirs left by a lab process that was killed
 */
import { parseArgs } from 'node:util';
import { dirname, join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { startEnvironment } from './environment/index.js';
import { CoordinatorInstances } from './instances/instances.js';
import { formatReapReport, reapWorkDirs } from './environment/local/work-dir.js';
import { isExiting } from './process/cleanup.js';
import { coordinatorEntry, parseSeeds, runScenarioMain } from './scenario/main.js';
import { shrinkSeed } from './scenario/shrink.js';
import { formatVariantTable, runVariantMatrix } from './scenario/variant-matrix.js';
import { defaultRunsDir, type ScenarioDefinition } from './scenario/scenario.js';
import { InvalidArgumentError, LabError } from './errors.js';
import { formatSuiteTable, runSuites, suiteConcurrencyFromEnv } from './suites/run-suites.js';
import { fileURLToPath } from 'node:url';

const usage = `usage:
  lab env up [--instances N]      environment + N coordinator instances (default 3) until Ctrl-C
  lab run <suite> [--seed N]      run one suite (scenarios/<suite>/)
  lab run --all [--skip a,b] | <suite>… [--seeds 1..3]
                                  run suites side by side (LAB_SUITE_CONCURRENCY, default 4), each to its end; one table
  lab variants [--seeds 1..3] [--scenarios a,b] [--variants x,y] [--concurrency 3]
                                  run known-bad coordinator variants against the scenarios; print the matrix
  lab shrink <scenario> --seed N [--max-runs 30] [--max-minutes 15] [--checker NAME]... [--matching REGEX]
                                  cut a failing seed's plan down to a minimal one that still fails; print its replay
  lab reap [--dry-run]            clean up after a lab process that was killed: every chaos-lab-* folder in the
                                  temp dir whose owner is gone (or that has none and nothing uses), with its size
                                  and why; --dry-run only lists them
`;

/** The suites of the workspace: the folders of `scenarios/` with an `index.ts` (one folder per suite). */
function workspaceScenarioNames(): string[] {
  const root = dirname(defaultRunsDir());
  const dir = join(root, 'scenarios');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

async function loadScenario(name: string): Promise<ScenarioDefinition> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new InvalidArgumentError('scenario', name, 'a suite name such as "pipeline"');
  let mod: { scenario?: ScenarioDefinition };
  try {
    mod = (await import(`@chaos-lab/scenarios/${name}`)) as { scenario?: ScenarioDefinition };
  } catch (err) {
    const known = workspaceScenarioNames();
    throw new LabError(
      known.length > 0 && !known.includes(name)
        ? `no suite "${name}": expected one of ${known.join(', ')}`
        : `suite "${name}" could not be loaded from scenarios/${name}/ (${(err as Error).message}); run npm run build`,
    );
  }
  if (!mod.scenario) throw new LabError(`scenarios/${name}/index.ts does not export \`scenario\``);
  return mod.scenario;
}

/** The variant names, from the coordinator's lab-only entry point itself (`--list`). */
function variantNames(): string[] {
  const r = spawnSync(process.execPath, [coordinatorEntry('any'), '--list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new LabError(`could not list the coordinator variants: ${r.stderr.trim()}`);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

async function variantMatrix(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: 'string', default: '1..3' },
      scenarios: { type: 'string' },
      variants: { type: 'string' },
      concurrency: { type: 'string', default: '3' },
    },
    strict: true,
  });
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8)
    throw new InvalidArgumentError('--concurrency', values.concurrency, 'an integer from 1 to 8');
  const names = values.scenarios ? values.scenarios.split(',') : workspaceScenarioNames();
  const scenarios = await Promise.all(names.map(loadScenario));
  const variants = values.variants ? values.variants.split(',') : variantNames();
  const t0 = performance.now();
  const cells = await runVariantMatrix({ scenarios, variants, seeds: parseSeeds(values.seeds), concurrency });
  process.stdout.write(
    `\nvariant matrix: ${cells.length} cells in ${((performance.now() - t0) / 60_000).toFixed(1)} min\n`,
  );
  process.stdout.write(`\n${formatVariantTable(cells)}\n`);
  const missed = variants.filter((v) => !cells.some((c) => c.variant === v && c.caught));
  if (missed.length > 0) process.stdout.write(`not caught by any scenario: ${missed.join(', ')}\n`);
  return missed.length === 0 ? 0 : 1;
}

async function envUp(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { instances: { type: 'string', default: '3' } }, strict: true });
  const n = Number(values.instances);
  if (!Number.isInteger(n) || n < 0 || n > 32)
    throw new InvalidArgumentError('--instances', values.instances, 'an integer from 0 to 32');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const runDir = join(defaultRunsDir(), `env-${stamp}`);
  await using env = await startEnvironment({ logDir: join(runDir, 'logs') });
  await env.kafka.createTopic('batch.registered', 6);
  await env.kafka.createTopic('essay.content.provisioned', 6);
  await env.kafka.createTopic('essay.validation.failed', 6);
  const lines = [
    `environment up in ${env.startupMs.toFixed(0)} ms (provider ${env.provider}, work dir ${env.workDir})`,
    `  redis     ${env.endpoints.redisUrl}  (pid ${env.redis.pid})`,
    `  postgres  ${env.endpoints.postgresUrl}  (pid ${env.postgres.pid})`,
    `  kafka     ${env.endpoints.kafkaBrokers.join(',')}  (pid ${env.kafka.pid}, control API ${env.kafka.controlUrl})`,
  ];
  let instances: CoordinatorInstances | undefined;
  if (n > 0) {
    instances = await CoordinatorInstances.start({
      entry: coordinatorEntry(),
      count: n,
      env: env.coordinatorEnv(),
      logDir: join(runDir, 'logs'),
      recordIn: env.workDir,
    });
    for (const x of instances.all) lines.push(`  ${x.id.padEnd(9)} ${x.url}  (pid ${x.pid}, log ${x.logFile})`);
  }
  lines.push(`logs in ${runDir}/logs — Ctrl-C stops everything`);
  process.stdout.write(lines.join('\n') + '\n');
  // Runs until a signal: the cleanup registry stops every process and removes the work dir.
  await new Promise<never>(() => {});
  return 0;
}

async function shrink(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const def = await loadScenario(name ?? '');
  const { values } = parseArgs({
    args: rest,
    options: {
      seed: { type: 'string' },
      'max-runs': { type: 'string', default: '30' },
      'max-minutes': { type: 'string', default: '15' },
      checker: { type: 'string', multiple: true },
      matching: { type: 'string' },
    },
    strict: true,
  });
  let matching: RegExp | undefined;
  try {
    if (values.matching !== undefined) matching = new RegExp(values.matching);
  } catch (err) {
    throw new InvalidArgumentError('--matching', values.matching, `a regular expression (${(err as Error).message})`);
  }
  const seed = Number(values.seed);
  if (values.seed === undefined || !Number.isSafeInteger(seed) || seed < 0)
    throw new InvalidArgumentError('--seed', values.seed, 'a non-negative integer');
  const maxRuns = Number(values['max-runs']);
  if (!Number.isInteger(maxRuns) || maxRuns < 1)
    throw new InvalidArgumentError('--max-runs', values['max-runs'], 'an integer ≥ 1');
  const maxMinutes = Number(values['max-minutes']);
  if (!(maxMinutes > 0)) throw new InvalidArgumentError('--max-minutes', values['max-minutes'], 'a positive number');
  const r = await shrinkSeed(def, {
    seed,
    maxRuns,
    maxMs: maxMinutes * 60_000,
    coordinatorEntry: coordinatorEntry(),
    ...(values.checker && { checkers: values.checker }),
    ...(matching && { matching }),
  });
  process.stdout.write(
    `${def.name} seed ${seed}: ${r.from.publishes}→${r.subset.publishes.length} publishes, ${r.from.faults}→${r.subset.faults.length} faults, still failing ${r.checkers.join(', ')} (${r.runs} runs, ${(r.ms / 1000).toFixed(0)} s)\nminimal plan: ${r.file}\nreplay: ${r.replayCommand}\n`,
  );
  return 0;
}

/**
 * `lab run <suite> [options]` runs one suite in this process; `lab run --all [options]` or
 * `lab run <suite> <suite>… [options]` runs each in its own process, to its end, and prints one table.
 */
async function run(argv: string[]): Promise<number> {
  const all = argv.includes('--all');
  const skipAt = argv.indexOf('--skip');
  const skip = skipAt === -1 ? [] : (argv[skipAt + 1] ?? '').split(',').filter(Boolean);
  if (skipAt !== -1 && (!all || skip.length === 0))
    throw new InvalidArgumentError(
      '--skip',
      argv[skipAt + 1],
      'suite names after --all, such as --all --skip kafka-faults',
    );
  const rest = argv.filter((a, i) => a !== '--all' && (skipAt === -1 || (i !== skipAt && i !== skipAt + 1)));
  const firstOption = rest.findIndex((a) => a.startsWith('-'));
  const names = firstOption === -1 ? rest : rest.slice(0, firstOption);
  const options = firstOption === -1 ? [] : rest.slice(firstOption);
  if (all && names.length > 0)
    throw new InvalidArgumentError('lab run', argv.join(' '), 'either --all or suite names, not both');
  if (!all && names.length <= 1) return runScenarioMain(await loadScenario(names[0] ?? ''), options);
  const suites = all ? workspaceScenarioNames().filter((n) => !skip.includes(n)) : names;
  const unknown = skip.filter((n) => !workspaceScenarioNames().includes(n));
  if (unknown.length > 0)
    throw new InvalidArgumentError('--skip', unknown.join(','), `suite names (${workspaceScenarioNames().join(', ')})`);
  if (suites.length === 0) throw new LabError('no suites found: expected folders scenarios/<name>/ with an index.ts');
  await Promise.all(suites.map(loadScenario)); // every name checked before anything starts
  const outcomes = await runSuites(suites, {
    cli: fileURLToPath(import.meta.url),
    args: options,
    concurrency: suiteConcurrencyFromEnv(),
  });
  process.stdout.write(`\n${formatSuiteTable(outcomes)}\n`);
  return outcomes.every((o) => o.exit === 0) ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'env' && rest[0] === 'up') return envUp(rest.slice(1));
  if (cmd === 'run') return run(rest);
  if (cmd === 'shrink') return shrink(rest);
  if (cmd === 'variants') return variantMatrix(rest);
  if (cmd === 'reap') {
    const { values } = parseArgs({ args: rest, options: { 'dry-run': { type: 'boolean' } }, strict: true });
    const report = await reapWorkDirs({ dryRun: values['dry-run'] === true });
    process.stdout.write(formatReapReport(report) + '\n');
    return report.kept.some((k) => k.reason.startsWith('could not be reaped')) ? 1 : 0;
  }
  process.stderr.write(usage);
  return cmd === undefined || cmd === '--help' ? 0 : 2;
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
