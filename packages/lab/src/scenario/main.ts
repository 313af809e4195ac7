/**
 * The command-line front of a scenario package: `--seed N` (repeatable) or
 * `--seeds A..B`, one run per seed, a summary table, exit 1 on any violation.
 * With `--json`, the suite's record (`run.json` and the suite folder) on stdout
 * instead of the tables, every other line on stderr: also when the suite could
 * not start (the record then says so, with the error).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { InvalidArgumentError, LabError } from '../errors.js';
import { relative } from 'node:path';
import { runSuite, type ScenarioDefinition } from './scenario.js';
import { readPlanFile, shrinkSeed, withPlanFile } from './shrink.js';
import { parseOptions } from '../cli/args.js';
import { parseShard, shardSeeds, type Shard } from './shard.js';
import type { SuiteRecord } from './suite-record.js';

/** Parses `7`, `1,2,3` or `1..5` into seeds. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const range = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b < a || b - a > 10_000) throw new InvalidArgumentError('--seeds', text, 'ranges as A..B with A ≤ B');
      for (let s = a; s <= b; s++) seeds.push(s);
    } else if (/^\s*\d+\s*$/.test(part)) {
      seeds.push(Number(part));
    } else {
      throw new InvalidArgumentError('--seeds', text, 'seeds as N, N,M or A..B');
    }
  }
  for (const s of seeds)
    if (!Number.isSafeInteger(s) || s > 0xffff_ffff)
      throw new InvalidArgumentError('--seed', s, 'an integer from 0 to 4294967295');
  return seeds;
}

/**
 * The coordinator's built entry point: `LAB_COORDINATOR_ENTRY`, else the
 * workspace package's `dist/main.js` — or, for a known-bad variant, its
 * lab-only entry point `dist/variants/main.js`.
 */
export function coordinatorEntry(variant?: string): string {
  const fromEnv = process.env.LAB_COORDINATOR_ENTRY;
  if (fromEnv && variant === undefined) {
    if (!existsSync(fromEnv)) throw new InvalidArgumentError('LAB_COORDINATOR_ENTRY', fromEnv, 'an existing file');
    return fromEnv;
  }
  const specifier = variant === undefined ? '@chaos-lab/coordinator/main' : '@chaos-lab/coordinator/variants/main';
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(specifier));
  } catch (err) {
    throw new LabError(`cannot find ${specifier}; run npm install at the repository root`, { cause: err });
  }
  if (!existsSync(entry)) throw new LabError(`the coordinator is not built (${entry} is missing); run npm run build`);
  return entry;
}

/** The ingest service's built entry point: `LAB_INGEST_ENTRY`, else the workspace package's `dist/main.js`. */
export function ingestEntry(): string {
  const fromEnv = process.env.LAB_INGEST_ENTRY;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new InvalidArgumentError('LAB_INGEST_ENTRY', fromEnv, 'an existing file');
    return fromEnv;
  }
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve('@chaos-lab/ingest/main'));
  } catch (err) {
    throw new LabError('cannot find @chaos-lab/ingest/main; run npm install at the repository root', { cause: err });
  }
  if (!existsSync(entry))
    throw new LabError(`the ingest service is not built (${entry} is missing); run npm run build`);
  return entry;
}

/** Seeds run when neither `--seed`/`--seeds` nor `LAB_SEEDS` is given. */
export const defaultSeeds = '1..3';

export async function runScenarioMain(
  scenario: ScenarioDefinition,
  argv: string[] = process.argv.slice(2),
): Promise<number> {
  let def = scenario;
  let seeds: number[];
  let variant: string | undefined;
  let planFile: string | undefined;
  let shrink = false;
  let json = false;
  let shard: (Shard & { of: number[] }) | undefined;
  try {
    const { values } = parseOptions(
      'lab run',
      {
        args: argv,
        options: {
          seed: { type: 'string', multiple: true },
          seeds: { type: 'string' },
          variant: { type: 'string' },
          plan: { type: 'string' },
          shrink: { type: 'boolean' },
          shard: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean' },
        },
      },
      { seed: 'N', seeds: 'A..B|N,M', variant: 'NAME', plan: 'FILE', shard: 'k/n' },
    );
    if (values.help) {
      process.stdout.write(
        `usage: ${def.name} [--seed N]... [--seeds A..B|N,M] [--shard k/n] [--variant NAME] [--shrink] [--plan minimal-plan.json|seed-N/plan.json] [--json]\n${def.description}\n`,
      );
      return 0;
    }
    seeds = [...(values.seed ?? []).flatMap(parseSeeds), ...(values.seeds ? parseSeeds(values.seeds) : [])];
    if (seeds.length === 0) seeds = parseSeeds(process.env.LAB_SEEDS ?? defaultSeeds);
    if (values.shard !== undefined) {
      const s = parseShard(values.shard);
      const mine = shardSeeds(seeds, s);
      if (mine.length === 0)
        throw new InvalidArgumentError(
          '--shard',
          values.shard,
          `at most ${seeds.length} shards of ${seeds.length} seeds`,
        );
      shard = { ...s, of: seeds };
      seeds = mine;
    }
    variant = values.variant;
    planFile = values.plan;
    shrink = values.shrink === true;
    json = values.json === true;
    if (planFile !== undefined && seeds.length !== 1)
      throw new InvalidArgumentError('--plan', planFile, 'one seed (--seed N): a plan belongs to one seed');
    if (planFile !== undefined) def = withPlanFile(def, await readPlanFile(planFile, def, seeds[0]!));
    if (variant !== undefined && !/^[a-z0-9-]{1,50}$/.test(variant)) {
      throw new InvalidArgumentError('--variant', variant, 'a variant name such as "check-then-act"');
    }
  } catch (err) {
    process.stderr.write(`${def.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const entry = coordinatorEntry(variant);
  // A suite that cannot even start (e.g. the consumer group never settles) is reported in one line and fails;
  // runSuite has already stopped its processes on the way out.
  const suite = await runSuite(def, {
    seeds,
    coordinatorEntry: entry,
    // stdout is the record's alone: the seeds' verdict tables go where the progress goes.
    ...(json && { out: (l: string) => process.stderr.write(l + '\n') }),
    // The record, also of a suite that could not start (its error and the seeds it left), is stdout's.
    ...(json && {
      onRecord: (record: SuiteRecord, suiteDir: string) =>
        process.stdout.write(JSON.stringify({ ...record, suiteDir }, null, 1) + '\n'),
    }),
    ...(variant !== undefined && { variant }),
    ...(shard && { shard }),
    replayCommand: (seed) =>
      `npm run lab -- run ${def.name} --seed ${seed}${variant ? ` --variant ${variant}` : ''}${planFile ? ` --plan ${planFile}` : ''}`,
  }).catch((err: unknown) => {
    process.stderr.write(`${def.name}: could not run: ${err instanceof Error ? err.message : String(err)}\n`);
    return undefined;
  });
  if (!suite) return 1;
  const results = suite.results;
  if (!json && results.length > 1) {
    const table = new Table({
      head: ['seed', 'verdict', 'wall s', 'group ready s', 'workload s', 'contents/s', 'run folder'],
      style: { head: [], border: [] },
    });
    for (const r of results) {
      table.push([
        r.stats.seed,
        r.valid ? 'VALID' : 'INVALID',
        (r.stats.wallMs / 1000).toFixed(1),
        (r.stats.instancesReadyMs / 1000).toFixed(1),
        (r.stats.workloadMs / 1000).toFixed(1),
        r.stats.contentsPerSecond,
        relative(process.cwd(), r.runDir),
      ]);
    }
    const voids = results.reduce((a, r) => a + (r.voidRuns?.length ?? 0), 0);
    const voidNote =
      voids === 0 ? '' : `; ${voids} void run${voids === 1 ? '' : 's'} (the environment broke) run again`;
    process.stdout.write(
      `\n${def.name}: ${results.filter((r) => r.valid).length}/${results.length} seeds valid in ${(suite.wallMs / 1000).toFixed(1)} s (${suite.sessions} session${suite.sessions === 1 ? '' : 's'}${voidNote})\n${table.toString()}\n`,
    );
  }
  // --shrink: each failing seed cut down to a minimal plan that still fails, its replay command printed.
  if (shrink)
    for (const r of results.filter((x) => !x.valid)) {
      await shrinkSeed(def, {
        seed: r.stats.seed,
        failing: r,
        coordinatorEntry: entry,
        ...(variant !== undefined && { variant }),
      }).catch((err: unknown) =>
        process.stderr.write(`${def.name}: seed ${r.stats.seed} could not be shrunk: ${(err as Error).message}\n`),
      );
    }
  return results.every((r) => r.valid) ? 0 : 1;
}

/**
 * Whether the scenario suites run as part of `npm test`: in CI (`CI=true`,
 * seeds 1..3 of every suite) and wherever `LAB_CHAOS_TESTS=1`;
 * `LAB_CHAOS_TESTS=0` turns them off everywhere. A plain local `npm test`
 * leaves them to `npm run chaos`, which runs the same seeds.
 */
export function chaosTestsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.LAB_CHAOS_TESTS !== undefined) return env.LAB_CHAOS_TESTS === '1';
  return env.CI === 'true' || env.CI === '1';
}
