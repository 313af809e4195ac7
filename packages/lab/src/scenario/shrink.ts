/**
 * Shrinking a failing seed, QuickCheck-style but over real runs: the seed's
 * plan — its publishes and its faults — is cut down by delta debugging
 * (Zeller's ddmin, complements first) to a subset that still fails one of
 * the checkers the whole plan failed, within a budget of runs and time.
 * Faults are shrunk first (few, and each costs the most time), then the
 * publishes.
 *
 * A candidate is a {@link PlanSubset}: the seed plus the indices it keeps, so
 * it is replayed exactly by `lab run <suite> --seed N --plan <file>` (the
 * plan is drawn from the seed as always, then restricted). `--plan` takes a
 * seed folder's `plan.json` as well ({@link SavedPlan}): that plan is run as it
 * is, whatever the generator draws today (`lab replay`). Each candidate
 * runs on a fresh session, so nothing a previous attempt left behind counts.
 * Failing runs are not faster than passing ones (a stuck pipeline is judged
 * after its stall timeout), which is why the budget counts runs and time.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { AssignmentPlan } from '@chaos-lab/model';
import { InvalidArgumentError, LabError } from '../errors.js';
import { FAULT_KINDS, type PlannedFault } from '../nemesis/index.js';
import { readSeedSummary } from './seed-folder.js';
import { ENVIRONMENT_HELD, defaultRunsDir, planOf, runScenario, type RunOptions, type RunResult } from './scenario.js';
import { compileScenario, type ScenarioDefinition } from './definition.js';

/** A seed's plan restricted to some of its publishes and faults (indices into the full plan's lists). */
export interface PlanSubset {
  readonly scenario: string;
  readonly seed: number;
  readonly publishes: readonly number[];
  readonly faults: readonly number[];
}

const PlanSubsetSchema = z.object({
  scenario: z.string().min(1),
  seed: z.number().int().nonnegative(),
  publishes: z.array(z.number().int().nonnegative()),
  faults: z.array(z.number().int().nonnegative()),
});

/** A seed's whole plan as its folder's `plan.json` holds it: the workload's publishes and the faults. */
export interface SavedPlan {
  readonly seed: number;
  readonly plan: AssignmentPlan;
  readonly faults: readonly PlannedFault[];
}

/** What `--plan` reads: a subset of the seed's drawn plan (`lab shrink`), or a saved plan run as it is. */
export type PlanFile = { readonly subset: PlanSubset } | { readonly saved: SavedPlan };

const SavedPlanSchema = z.looseObject({
  seed: z.number().int().nonnegative(),
  publishes: z.array(z.looseObject({ topic: z.string().min(1), role: z.string() })),
  expected: z.looseObject({}),
  faults: z.array(
    z.looseObject({
      at: z.number().nonnegative(),
      durationMs: z.number().nonnegative(),
      spec: z.looseObject({
        kind: z.string().refine((k) => (FAULT_KINDS as readonly string[]).includes(k), {
          message: `a fault kind (${FAULT_KINDS.join(', ')})`,
        }),
      }),
    }),
  ),
});

/** The scenario running `saved` instead of what its generator draws: same suite settings, that plan, those faults. */
export function withSavedPlan(def: ScenarioDefinition, saved: SavedPlan): ScenarioDefinition {
  const compiled = compileScenario(def);
  return { ...compiled, plan: () => saved.plan, faults: () => [...saved.faults] };
}

/** The scenario restricted to, or replaced by, what a `--plan` file says. */
export function withPlanFile(def: ScenarioDefinition, file: PlanFile): ScenarioDefinition {
  return 'subset' in file ? restrictTo(def, file.subset) : withSavedPlan(def, file.saved);
}

/**
 * Reads `--plan`: a subset written by {@link shrinkSeed} or a seed folder's `plan.json`, checking it belongs to
 * `def` (a saved plan's folder names its suite in `summary.json`) and to `seed`.
 */
export async function readPlanFile(file: string, def: ScenarioDefinition, seed: number): Promise<PlanFile> {
  const raw = await readJsonArgument(file);
  if (PlanSubsetSchema.safeParse(raw).success) return { subset: await readPlanSubset(file, def, seed) };
  const r = SavedPlanSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InvalidArgumentError(
      '--plan',
      file,
      `a plan subset (lab shrink's minimal-plan.json) or a seed folder's plan.json (${issue?.path.join('.') || '(root)'}: ${issue?.message})`,
    );
  }
  if (r.data.seed !== seed)
    throw new InvalidArgumentError('--plan', file, `a plan of seed ${seed}, not ${r.data.seed}`);
  const summary = await readSeedSummary(dirname(file)).catch(() => undefined);
  if (summary !== undefined && summary.scenario !== def.name)
    throw new InvalidArgumentError('--plan', file, `a plan of ${def.name}, not ${summary.scenario}`);
  const { faults, ...plan } = r.data;
  return {
    saved: { seed, plan: plan as unknown as AssignmentPlan, faults: faults as unknown as PlannedFault[] },
  };
}

async function readJsonArgument(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (err) {
    throw new InvalidArgumentError('--plan', file, `a readable JSON file (${(err as Error).message})`);
  }
}

/** The scenario with its plan and faults cut down to `subset` (same seed, same draws, fewer of them). */
export function restrictTo(def: ScenarioDefinition, subset: PlanSubset): ScenarioDefinition {
  const keepP = new Set(subset.publishes);
  const keepF = new Set(subset.faults);
  const compiled = compileScenario(def);
  return {
    ...compiled,
    plan: (seed, ctx) => {
      const plan = def.plan(seed, ctx);
      return { ...plan, publishes: plan.publishes.filter((_, i) => keepP.has(i)) };
    },
    faults: (ctx) => compiled.faults(ctx).filter((_, i) => keepF.has(i)),
  };
}

/** Reads a subset written by {@link shrinkSeed}, checking it belongs to `def` and `seed`. */
export async function readPlanSubset(file: string, def: ScenarioDefinition, seed: number): Promise<PlanSubset> {
  const raw = await readJsonArgument(file);
  const r = PlanSubsetSchema.safeParse(raw);
  if (!r.success) throw new InvalidArgumentError('--plan', file, `a plan subset: ${r.error.issues[0]?.message}`);
  const s = r.data;
  if (s.scenario !== def.name)
    throw new InvalidArgumentError('--plan', file, `a plan of ${def.name}, not ${s.scenario}`);
  if (s.seed !== seed) throw new InvalidArgumentError('--plan', file, `a plan of seed ${seed}, not ${s.seed}`);
  const full = planOf(def, seed);
  const bad = s.publishes.find((i) => i >= full.plan.publishes.length) ?? s.faults.find((i) => i >= full.faults.length);
  if (bad !== undefined) throw new InvalidArgumentError('--plan', file, `indices within the seed's plan (got ${bad})`);
  return s;
}

export interface ShrinkOptions extends Omit<RunOptions, 'seed' | 'replayCommand'> {
  readonly seed: number;
  /** At most this many candidate runs. Default 30. */
  readonly maxRuns?: number;
  /** At most this long, in ms (a run already started is finished). Default 15 min. */
  readonly maxMs?: number;
  /** The failing run to start from; run once first when absent. */
  readonly failing?: RunResult;
  /** Shrink towards these checkers only (default: every checker the full plan failed). */
  readonly checkers?: readonly string[];
  /**
   * Only a counterexample whose message matches counts: one bug among the
   * several a seed may show (a checker fails for more than one reason).
   */
  readonly matching?: RegExp;
}

export interface ShrinkResult {
  readonly subset: PlanSubset;
  /** The checkers the full plan failed; every accepted candidate failed at least one of them. */
  readonly checkers: readonly string[];
  /** The last failing run of the minimal plan. */
  readonly minimal: RunResult;
  readonly runs: number;
  readonly ms: number;
  /** Sizes before and after. */
  readonly from: { readonly publishes: number; readonly faults: number };
  /** Why it stopped: the plan is 1-minimal, or the budget ran out. */
  readonly stopped: 'minimal' | 'runs' | 'time';
  /** `minimal-plan.json` in the shrink folder. */
  readonly file: string;
  readonly replayCommand: string;
}

/** The checkers a run failed, the test bed's own verdict left out; with `matching`, only for such a counterexample. */
export function failedCheckers(r: RunResult, matching?: RegExp): string[] {
  return r.verdicts
    .filter((v) => v.valid !== true && v.checker !== ENVIRONMENT_HELD)
    .filter((v) => matching === undefined || v.errors.some((e) => matching.test(e.message)))
    .map((v) => v.checker);
}

/** The first counterexample of a run (the first matching one, with `matching`). */
function firstCounterexample(r: RunResult, matching?: RegExp): string | undefined {
  const errors = r.verdicts.filter((v) => v.valid !== true).flatMap((v) => v.errors);
  return (matching === undefined ? errors[0] : errors.find((e) => matching.test(e.message)))?.message;
}

/**
 * Zeller's ddmin over a plan subset: the faults first, then the publishes,
 * each list reduced with the other held. `test` runs a candidate and says
 * whether it still fails (the caller then takes it as current); `budgetLeft`
 * stops the search early. Returns the smallest failing subset found, which is
 * 1-minimal in both lists when the budget lasted.
 */
export async function ddminSubset(
  start: PlanSubset,
  test: (candidate: PlanSubset) => Promise<boolean>,
  budgetLeft: () => boolean = () => true,
): Promise<PlanSubset> {
  let current = start;
  for (const field of ['faults', 'publishes'] as const) {
    let n = 2;
    while (current[field].length >= 1 && budgetLeft()) {
      const items = current[field];
      const size = Math.ceil(items.length / n);
      let reduced = false;
      for (let i = 0; i < items.length && budgetLeft(); i += size) {
        const complement = [...items.slice(0, i), ...items.slice(i + size)];
        const candidate = { ...current, [field]: complement };
        if (await test(candidate)) {
          current = candidate;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
      if (!reduced) {
        if (size <= 1) break;
        n = Math.min(n * 2, items.length);
      }
    }
  }
  return current;
}

export async function shrinkSeed(def: ScenarioDefinition, opts: ShrinkOptions): Promise<ShrinkResult> {
  const { seed, maxRuns = 30, maxMs = 15 * 60_000, failing, checkers: only, matching, ...runOpts } = opts;
  if (!Number.isInteger(maxRuns) || maxRuns < 1) throw new InvalidArgumentError('maxRuns', maxRuns, 'an integer ≥ 1');
  if (!(maxMs > 0)) throw new InvalidArgumentError('maxMs', maxMs, 'a positive number of ms');
  const progress = opts.progress ?? ((l: string) => process.stderr.write(l + '\n'));
  const t0 = performance.now();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const dir = resolve(opts.runsDir ?? defaultRunsDir(), `${def.name}-seed${seed}-shrink-${stamp}`);
  await mkdir(dir, { recursive: true });
  const full = planOf(def, seed);
  const from = { publishes: full.plan.publishes.length, faults: full.faults.length };
  const quiet = { out: () => {}, progress: () => {} };

  let runs = 0;
  const attempt = (subset: PlanSubset) =>
    runScenario(restrictTo(def, subset), { ...runOpts, ...quiet, seed, runsDir: join(dir, 'attempts') });

  const first = failing ?? (runs++, await attempt(everything()));
  const checkers = failedCheckers(first, matching).filter((c) => only === undefined || only.includes(c));
  if (first.valid || checkers.length === 0)
    throw new LabError(
      `${def.name} seed ${seed} does not fail ${only ? only.join(' or ') : 'any checker'}${matching ? ` with a counterexample matching ${String(matching)}` : ''} (it failed: ${failedCheckers(first).join(', ') || 'none'}): nothing to shrink`,
    );
  progress(
    `shrink: ${def.name} seed ${seed} fails ${checkers.join(', ')}${matching ? ` (${String(matching)})` : ''}; shrinking ${from.faults} faults and ${from.publishes} publishes (at most ${maxRuns} runs, ${Math.round(maxMs / 1000)} s)`,
  );

  let current = everything();
  let minimal = first;
  let stopped: ShrinkResult['stopped'] = 'minimal';
  const budgetLeft = () => {
    if (runs >= maxRuns) return ((stopped = 'runs'), false);
    if (performance.now() - t0 >= maxMs) return ((stopped = 'time'), false);
    return true;
  };
  /** Runs a candidate; true (and it becomes current) when it still fails one of the original checkers. */
  const stillFails = async (candidate: PlanSubset): Promise<boolean> => {
    runs++;
    const r = await attempt(candidate).catch((err: Error) => {
      progress(`shrink: run ${runs} could not run (${err.message}); counted as passing`);
      return undefined;
    });
    const fails = r !== undefined && failedCheckers(r, matching).some((c) => checkers.includes(c));
    progress(
      `shrink: run ${runs}: ${candidate.faults.length} faults, ${candidate.publishes.length} publishes → ${fails ? `still fails (${failedCheckers(r!).join(', ')})` : 'passes'} · ${Math.round((performance.now() - t0) / 1000)} s`,
    );
    if (fails) {
      current = candidate;
      minimal = r!;
    }
    return fails;
  };

  current = await ddminSubset(current, stillFails, budgetLeft);

  const file = join(dir, 'minimal-plan.json');
  const { plan, faults } = planOf(restrictTo(def, current), seed);
  await writeFile(
    file,
    JSON.stringify(
      {
        ...current,
        failedCheckers: failedCheckers(minimal),
        firstCounterexample: firstCounterexample(minimal, matching),
        ...(matching && { matching: String(matching) }),
        from,
        runs,
        ms: Math.round(performance.now() - t0),
        stopped,
        minimalRunDir: minimal.runDir,
        // For reading: what the kept indices are.
        keptPublishes: plan.publishes,
        keptFaults: faults,
      },
      null,
      1,
    ),
  );
  const replayCommand = `npm run lab -- run ${def.name} --seed ${seed} --plan ${file}`;
  progress(
    `shrink: ${from.faults}→${current.faults.length} faults, ${from.publishes}→${current.publishes.length} publishes in ${runs} runs, ${Math.round((performance.now() - t0) / 1000)} s (${stopped === 'minimal' ? '1-minimal' : `budget of ${stopped} spent`}); minimal plan ${file}`,
  );
  progress(`replay: ${replayCommand}`);
  return {
    subset: current,
    checkers,
    minimal,
    runs,
    ms: performance.now() - t0,
    from,
    stopped,
    file,
    replayCommand,
  };

  function everything(): PlanSubset {
    return {
      scenario: def.name,
      seed,
      publishes: full.plan.publishes.map((_, i) => i),
      faults: full.faults.map((_, i) => i),
    };
  }
}
