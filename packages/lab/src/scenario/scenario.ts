/**
 * Scenarios and the runner. A scenario declares what to run — a workload
 * plan drawn from a seed, how many instances, how long to wait — and the
 * runner does the rest the same way for every scenario: environment up,
 * topics created, instances started, then for each seed the plan published
 * while the outputs are recorded and the nemesis runs, the final state read,
 * the checkers run, everything written to the seed's run folder, and a
 * replay command printed.
 *
 * The seeds of a suite share one session (environment, instances, consumer
 * group; see session.ts). A replay of one seed runs it on a fresh session:
 * same plan, same faults, same checkers.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inputTopics } from '@chaos-lab/contracts';
import { HistoryRecorder } from '@chaos-lab/model';
import { unsupportedFaults } from '../nemesis/index.js';
import { providerFromEnv, type ProviderName } from '../environment/index.js';
import { capabilitiesOf } from '../environment/capabilities.js';
import { CHAOS_CHARTS, collectCharts } from '../report/run-report.js';
import { SuiteSession } from './session.js';
import { buildBaseline } from '../instances/baseline.js';
import { readFinalState } from './final-state.js';
import { InvalidArgumentError, SessionNotReadyError, UnsupportedFaultsError } from '../errors.js';
import { compileScenario, type CompiledScenario, type ScenarioDefinition } from './definition.js';
import type { RunOptions, RunResult, RunStats } from './run-types.js';
import { planSeed, type SeedPlan } from './stages/plan.js';
import { beginSeed, startMonitor } from './stages/begin.js';
import { drive } from './stages/drive.js';
import { awaitCompletion, judgedHistory, settle, type InputAudit } from './stages/observe.js';
import { ENVIRONMENT_HELD, judge, seedValid } from './stages/judge.js';
import {
  copyLogSlices,
  logSizes,
  resultLines,
  waitLine,
  writeArtefacts,
  writeKafkaOffsets,
  writeMetrics,
  writePlan,
  writeReport,
  type GroupProgress,
  type SeedRecord,
} from './stages/write.js';
import { SeedResources } from './stages/seed-context.js';
import { shardLabel, type Shard } from './shard.js';
import { SUITE_RECORD, writeSuiteRecord, type SuiteRecord } from './suite-record.js';
import { SUITE_JUNIT, writeSuiteJunit } from '../junit/junit.js';

export { compileScenario, SCENARIO_DEFAULTS } from './definition.js';
export type { CompiledScenario, ScenarioContext, ScenarioDefinition } from './definition.js';
export type { RunOptions, RunResult, RunStats } from './run-types.js';
export { planOf, planSeed } from './stages/plan.js';
export { ENVIRONMENT_HELD } from './stages/judge.js';

/** How many times a seed whose environment broke is run again before its void verdict stands. */
export const MAX_VOID_RUNS = 2;

/** Whether the test bed broke under a run ({@link ENVIRONMENT_HELD} failed): its verdicts are void. */
export function environmentBroke(r: RunResult): boolean {
  return r.verdicts.some((v) => v.checker === ENVIRONMENT_HELD && v.valid === false);
}

/** `LAB_RUNS_DIR`, else `runs/` at the root of the workspace this is run from (the nearest folder with a package-lock.json). */
export function defaultRunsDir(from = process.cwd()): string {
  if (process.env.LAB_RUNS_DIR) return resolve(process.env.LAB_RUNS_DIR);
  for (let d = resolve(from); ; d = dirname(d)) {
    if (existsSync(join(d, 'package-lock.json'))) return join(d, 'runs');
    if (dirname(d) === d) return resolve(from, 'runs');
  }
}

/** The repository this lab is part of (packages/lab/{src,dist}/scenario/ → four levels up). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

export interface SuiteOptions extends Omit<RunOptions, 'seed' | 'replayCommand'> {
  readonly seeds: readonly number[];
  /** The command that replays one seed, printed after its verdict. */
  readonly replayCommand?: (seed: number) => string;
  /** Called with each seed's result as soon as it is known. */
  readonly onResult?: (r: RunResult) => void;
  /** Stop after the first seed for which this holds (the mutant matrix stops at the first catch). */
  readonly stopWhen?: (r: RunResult) => boolean;
  /** These seeds are shard k/n of `of`: named in the folder and in `run.json`. */
  readonly shard?: Shard & { readonly of: readonly number[] };
  /** Called once the suite's record (`run.json`, `junit.xml`) is written, however the run ends: an error too. */
  readonly onRecord?: (record: SuiteRecord, suiteDir: string) => void;
}

export interface SuiteResult {
  /** The suite's folder: session logs, and one `seed-<N>` folder per seed. */
  readonly suiteDir: string;
  readonly results: RunResult[];
  readonly wallMs: number;
  /** How many sessions (environment + instances) the seeds needed: 1 unless a seed failed. */
  readonly sessions: number;
  /** What was written to the suite folder's `run.json`. */
  readonly record: SuiteRecord;
}

/** One seed on a fresh session: what `lab run <suite> --seed N` does. */
export async function runScenario(def: ScenarioDefinition, opts: RunOptions): Promise<RunResult> {
  const { seed, replayCommand, ...rest } = opts;
  const r = await runSuite(def, {
    ...rest,
    seeds: [seed],
    ...(replayCommand !== undefined && { replayCommand: () => replayCommand }),
  });
  return r.results[0]!;
}

/**
 * Runs the seeds one after another on a shared session. A seed that is not
 * valid closes its session; the next seed gets a fresh one. A session that
 * cannot start (the environment fails, the group never settles) rejects, once
 * the suite's folder has its record: `run.json` and `junit.xml` say what ran,
 * and the error with every seed it left without a result.
 */
export async function runSuite(scenario: ScenarioDefinition, opts: SuiteOptions): Promise<SuiteResult> {
  const def = compileScenario(scenario);
  if (opts.seeds.length === 0) throw new InvalidArgumentError('seeds', '[]', 'at least one seed');
  for (const seed of opts.seeds)
    if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidArgumentError('seed', seed, 'a non-negative integer');
  // Every seed's faults must be ones this provider can run: refused here, before anything starts.
  const provider = opts.provider ?? providerFromEnv();
  const caps = capabilitiesOf(provider);
  const unsupported = opts.seeds.flatMap((seed) =>
    unsupportedFaults(planSeed(def, seed, provider).faults, caps).map((u) => ({ seed, kind: u.fault.spec.kind, ...u })),
  );
  if (unsupported.length > 0) throw new UnsupportedFaultsError(def.name, provider, unsupported);
  // Instances run under libfaketime only when a seed plans to move a clock: it costs every clock read.
  const clockControl = opts.seeds.some((seed) =>
    planSeed(def, seed, provider).faults.some((f) => f.spec.kind === 'clock-skew'),
  );
  const progress = opts.progress ?? ((l: string) => process.stderr.write(l + '\n'));
  const t0 = performance.now();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const name = `${def.name}${opts.variant ? `-${opts.variant}` : ''}`;
  const seedsLabel = opts.seeds.length === 1 ? `seed${opts.seeds[0]}` : `${opts.seeds.length}seeds`;
  const shardPart = opts.shard ? `-${shardLabel(opts.shard)}` : '';
  const suiteDir = resolve(opts.runsDir ?? defaultRunsDir(), `${name}-${seedsLabel}${shardPart}-${stamp}`);
  // What was refused above (bad seeds, faults this provider cannot run) is a bad request and leaves nothing. From
  // here on the folder exists, and the run leaves its record however it ends: a suite that cannot start (its
  // environment, a binary, a port, the baseline build) says so in run.json and junit.xml, then rethrows.
  await mkdir(suiteDir, { recursive: true });
  const run: SeedsRun = { results: [], sessions: 0, started: false };
  let error: { readonly thrown: unknown } | undefined;
  try {
    await runSeeds(def, { ...opts, provider, progress }, { suiteDir, name, stamp, clockControl }, run);
  } catch (thrown) {
    error = { thrown };
  }
  const { results, sessions } = run;
  const wallMs = performance.now() - t0;
  const written = writeSuiteRecord(suiteDir, {
    suite: def.name,
    variant: opts.variant ?? null,
    seeds: [...opts.seeds],
    shard: opts.shard ? { index: opts.shard.index, count: opts.shard.count, of: [...opts.shard.of] } : null,
    wallMs: Math.round(wallMs),
    sessions,
    results,
    replayCommand: opts.replayCommand,
    started: run.started,
    ...(error && { error: error.thrown }),
  }).then(async (record) => {
    await writeSuiteJunit(suiteDir, record);
    opts.onRecord?.(record, suiteDir);
    return record;
  });
  if (error) {
    // The error is what the caller must see; a record that could not be written is said beside it.
    await written.then(
      () =>
        progress(
          `lab: ${name}: ${run.started ? 'stopped by an error' : 'could not start'}; recorded in ${join(suiteDir, SUITE_RECORD)} and ${SUITE_JUNIT}`,
        ),
      (e: unknown) => progress(`lab: ${name}: its record could not be written: ${(e as Error).message}`),
    );
    throw error.thrown;
  }
  const record = await written;
  return { suiteDir, results, wallMs, sessions, record };
}

/** What a suite's seeds have come to so far: kept by the caller, so that it survives an error part-way. */
interface SeedsRun {
  readonly results: RunResult[];
  /** Sessions opened (or tried). */
  sessions: number;
  /** A seed began: the suite started. */
  started: boolean;
}

/**
 * The seeds of a suite one after another on shared sessions (see {@link runSuite}), into `run`. The baseline
 * build and the first session's start come first: what fails there rejects with `run.started` still false.
 */
async function runSeeds(
  def: CompiledScenario,
  opts: SuiteOptions & { readonly provider: ProviderName; readonly progress: (line: string) => void },
  at: { readonly suiteDir: string; readonly name: string; readonly stamp: string; readonly clockControl: boolean },
  run: SeedsRun,
): Promise<void> {
  const { suiteDir, name, stamp, clockControl } = at;
  const { provider, progress } = opts;
  const { results } = run;
  const { topics: t, partitions, prefix } = planSeed(def, opts.seeds[0]!);
  // The instances of a suite with a baseline start on that build; the current one is what they upgrade to.
  const baseline =
    def.baselineRef === undefined ? undefined : await buildBaseline(def.baselineRef, { root: REPO_ROOT, progress });
  if (baseline)
    progress(
      `lab: instances start on ${baseline.ref} (${baseline.sha.slice(0, 12)}${baseline.reused ? ', built before' : ''}) and upgrade to ${opts.coordinatorEntry}`,
    );
  let session: SuiteSession | undefined;
  const {
    replayCommand: replay,
    seeds: _seeds,
    onResult: _onResult,
    onRecord: _onRecord,
    stopWhen,
    shard: _shard,
    ...rest
  } = opts;
  try {
    for (const [i, seed] of opts.seeds.entries()) {
      const voidRuns: string[] = [];
      /** Keeps a run's folder as void, says why, and lets the seed run again on a fresh session. */
      const voidRun = async (runDir: string, why: string) => {
        const voidDir = `${runDir}-void-${voidRuns.length + 1}`;
        await rename(runDir, voidDir);
        voidRuns.push(voidDir);
        progress(`lab: seed ${seed}: ${why}; its run is void (${voidDir}); running the seed again on a fresh session`);
      };
      for (;;) {
        let opened = false;
        const tSeed = performance.now();
        if (!session) {
          run.sessions++;
          session = await SuiteSession.open(def, {
            coordinatorEntry: baseline?.entry ?? opts.coordinatorEntry,
            ...(opts.variant !== undefined && { variant: opts.variant }),
            dir: suiteDir,
            logName: run.sessions === 1 ? 'logs' : `logs-${run.sessions}`,
            topics: t,
            topicPrefix: prefix,
            partitions,
            groupId: `coordinator-${name}-${stamp}-${run.sessions}`,
            provider,
            progress,
            clockControl,
          });
          opened = true;
        }
        run.started = true;
        const seedDir = join(suiteDir, `seed-${seed}`);
        const invalid = results.filter((x) => !x.valid).length;
        const position = `seed ${i + 1} of ${opts.seeds.length}${i > 0 ? `, ${invalid} with violations so far` : ''}`;
        let r: RunResult;
        try {
          r = await runSeed(def, session, {
            ...rest,
            provider,
            seed,
            runId: `${name}-seed${seed}-${stamp}`,
            seedDir,
            opened,
            t0: tSeed,
            last: i === opts.seeds.length - 1,
            position,
            ...(baseline && { baseline: true }),
            progress,
            ...(replay !== undefined && { replayCommand: replay(seed) }),
          });
        } catch (err) {
          // A group that would not settle before the seed began: nothing was asked of the coordinator yet, so
          // the run is void, as for a broken test bed, and the seed runs again on a fresh session.
          if (!(err instanceof SessionNotReadyError) || voidRuns.length >= MAX_VOID_RUNS) throw err;
          await session.close();
          session = undefined;
          await mkdir(seedDir, { recursive: true });
          await writeFile(join(seedDir, 'void.txt'), `${err.message}\n`);
          await voidRun(seedDir, err.message);
          continue;
        }
        if (session.closed) session = undefined; // the seed found something (or was the last): the next gets a fresh one
        // A run whose test bed broke under it (the mock broker aborts on an assertion now and then) says nothing
        // about the coordinator, either way: its folder is kept as void and the seed runs again on a fresh session.
        if (environmentBroke(r) && voidRuns.length < MAX_VOID_RUNS) {
          await voidRun(
            r.runDir,
            `the environment broke under it (${r.verdicts.find((v) => v.checker === ENVIRONMENT_HELD)?.firstError?.message ?? ''})`,
          );
          continue;
        }
        const final = voidRuns.length > 0 ? { ...r, voidRuns } : r;
        results.push(final);
        opts.onResult?.(final);
        const violations = results.filter((x) => !x.valid).length;
        progress(
          `lab: ${name}: seed ${seed} ${final.valid ? 'VALID' : 'INVALID'}; ${results.length}/${opts.seeds.length} seeds done, ${violations} with violations so far`,
        );
        break;
      }
      if (stopWhen?.(results.at(-1)!)) break;
    }
  } finally {
    await session?.close();
  }
}

interface SeedOptions extends Omit<RunOptions, 'runsDir'> {
  /** The session's instances started on a baseline build; `coordinatorEntry` is the build to upgrade to. */
  readonly baseline?: boolean;
  readonly runId: string;
  readonly seedDir: string;
  /** This seed opened the session (its wall time includes the start-up). */
  readonly opened: boolean;
  /** No seed follows: close the session at the end. */
  readonly last: boolean;
  /** Where the seed stands in its suite, for the progress lines: `seed 2 of 5, 1 with violations so far`. */
  readonly position: string;
  /** When this seed began (before its session opened, if it opened one). */
  readonly t0: number;
  readonly progress: (line: string) => void;
}

/**
 * One seed on an open session, in its stages: plan, drive, observe, judge, write. Whatever the seed started
 * is stopped on every exit path; a seed that found something (or failed to run) closes its session.
 */
async function runSeed(def: CompiledScenario, session: SuiteSession, opts: SeedOptions): Promise<RunResult> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const { runId, seedDir, seed, progress } = opts;
  await mkdir(join(seedDir, 'logs'), { recursive: true });
  const planned = planSeed(def, seed, opts.provider);
  await writePlan(seedDir, planned);
  const { plan, faults } = planned;
  progress(
    `lab: ${runId} (${opts.position}): ${plan.publishes.length} publishes planned (${plan.expected.batches} batches, ${plan.expected.contents} contents)`,
  );
  const recorder = new HistoryRecorder();
  // The history counts from here; the report places it on the wall clock Prometheus uses.
  const recorderEpoch = Date.now();
  const res = new SeedResources();
  // A seed on a baseline upgrades its instances: the next seed must start on the baseline again.
  let closeSession = opts.last || opts.baseline === true;
  try {
    // The logs of a seed: everything from the session's start for the seed that opened it, else what was appended.
    session.labMetrics.seed(def.name, seed, true);
    const logMarks = opts.opened ? new Map<string, number>() : await logSizes(session.logDir);
    const { ctx, publisher, readyMs } = await beginSeed(def, session, planned, recorder, res, opts);
    const tWorkStart = performance.now();
    const workStartEpoch = Date.now();
    const monitor = startMonitor(ctx, res);
    await drive(ctx, res, { publisher, tWorkStart, ...(opts.baseline && { upgradeEntry: opts.coordinatorEntry }) });
    const wait = await awaitCompletion(ctx);
    const { broken, audit, consumption } = await settle(ctx, res.stopWatch);
    const workloadMs = performance.now() - tWorkStart;
    ctx.observer.detach();
    // The history ends here for the instances too: what closing the session does to them is not this seed's run.
    await res.instanceHistory?.stop();
    await ctx.held(publisher.stop());
    await writeMetrics(seedDir, session.instances);
    const online = await monitor.stop();
    const finalReadAtMs = recorder.elapsedMs();
    const final = await readFinalState(
      session.env.endpoints.postgresUrl,
      session.env.endpoints.redisUrl,
      'bc:',
      `s${seed}-`,
    );
    final.consumption = consumption;
    // Where the rows' settlement times count back from, on the history's clock (the report places violations).
    final.readAtMs = Math.round(finalReadAtMs);
    const history = judgedHistory(recorder.entries, audit);
    const verdicts = judge({ history, final, online, broken });
    if (broken.length > 0)
      progress(`lab: the environment broke during the run; its verdicts say nothing about the coordinator`);
    const progressOfGroup = await groupProgressAtEnd(session, planned, audit);
    await writeKafkaOffsets(seedDir, progressOfGroup);
    const valid = seedValid(verdicts, wait.timedOut);
    const charts = await seedCharts(session, workStartEpoch);
    // A seed that found something ends its session: the next seed must not inherit a broken system.
    if (!valid) closeSession = true;
    const codes = closeSession ? await closeAndSay(session, progress) : [];
    await copyLogSlices(session.logDir, logMarks, join(seedDir, 'logs'));
    const stats: RunStats = {
      seed,
      environmentStartupMs: opts.opened ? Math.round(session.environmentStartupMs) : 0,
      instancesReadyMs: Math.round(readyMs),
      workloadMs: Math.round(workloadMs),
      wallMs: Math.round(performance.now() - opts.t0),
      published: plan.publishes.length,
      contents: ctx.tracker.contentKeys.size,
      observed: ctx.observer.count,
      contentsPerSecond: Math.round(
        (ctx.tracker.settled.size / ((ctx.tracker.lastSettledAt || performance.now()) - tWorkStart)) * 1000,
      ),
      timedOut: wait.timedOut,
      stalled: wait.stalled,
      instanceExitCodes: codes,
      online: online.map(({ error: _error, ...f }) => f),
    };
    const record: SeedRecord = {
      runId,
      scenario: def.name,
      seed,
      variant: opts.variant,
      replayCommand: opts.replayCommand,
      seedDir,
      valid,
      stats,
      wait,
      history,
      final,
      verdicts,
      brokerLost: audit?.lost ?? [],
      online,
      settledContents: ctx.tracker.settled.size,
      instances: session.instances.all.length,
      faults,
      sessionLogs: session.logDir,
      outputsOfOtherSeedsSkipped: ctx.observer.skipped,
      recorderEpoch,
      workStartEpoch,
      endedEpoch: Date.now(),
      charts,
    };
    await writeArtefacts(record);
    const reportPath = await writeReport(seedDir, progress);
    const lines = await resultLines(record, {
      waitLine: waitLine(wait, def.stallTimeoutMs, def.timeoutMs),
      progressOfGroup,
      inputStart: ctx.inputStart,
      opened: opts.opened,
      reportPath,
    });
    for (const l of lines) out(l);
    return { runId, runDir: seedDir, valid, verdicts, stats };
  } catch (err) {
    // A seed that could not run leaves its session in an unknown state.
    closeSession = true;
    throw err;
  } finally {
    session.labMetrics.seed(def.name, seed, false);
    await res.release();
    if (closeSession) await session.close();
  }
}

/** Where the coordinators' group stands on the input partitions, read against the audited ends. */
async function groupProgressAtEnd(
  session: SuiteSession,
  planned: SeedPlan,
  audit: InputAudit | undefined,
): Promise<GroupProgress> {
  return audit
    ? await session
        .groupProgress(inputTopics(planned.topics), audit.ends)
        .catch((e: Error) => ({ unavailable: e.message }))
    : { unavailable: 'the input topics could not be read' };
}

/**
 * The report's charts. Asked now: a session closed after takes its Prometheus with it. The end of the window is
 * a scrape later than the end of the work, so the last counts are in.
 */
async function seedCharts(session: SuiteSession, workStartEpoch: number) {
  const { env } = session;
  const chartsEnd = Date.now();
  if (env.prometheus) await new Promise((r) => setTimeout(r, env.prometheus!.scrapeIntervalMs * 1.5));
  return collectCharts(
    env.prometheus,
    CHAOS_CHARTS,
    workStartEpoch,
    chartsEnd + (env.prometheus?.scrapeIntervalMs ?? 0),
  );
}

/** Closes the session and says which instances did not exit cleanly. */
async function closeAndSay(session: SuiteSession, progress: (line: string) => void): Promise<(number | null)[]> {
  const codes = await session.close();
  const badExits = codes.flatMap((c, i) => (c === 0 ? [] : [`${session.instances.all[i]!.id} exited ${c}`]));
  if (badExits.length) progress(`lab: unclean instance exits: ${badExits.join(', ')}`);
  return codes;
}
