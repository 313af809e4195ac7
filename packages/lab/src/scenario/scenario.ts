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
import { copyFile, mkdir, open, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  EventType,
  inputTopics,
  outputTopics,
  topics as topicNames,
  type OutputEvent,
  type Topics,
} from '@chaos-lab/contracts';
import {
  HistoryRecorder,
  historyToJSONL,
  publishedEvents,
  withUnstoredPublishes,
  type HistoryEntry,
} from '@chaos-lab/model';
import { SeededRandom } from '@chaos-lab/model';
import type { FaultDrawContext } from '../nemesis/plan/fault-schedule.js';
import { runNemesis, unsupportedFaults, type PlannedFault } from '../nemesis/index.js';
import { providerFromEnv, type ProviderName } from '../environment/environment.js';
import { capabilitiesOf } from '../environment/capabilities.js';
import {
  CHAOS_CHARTS,
  collectCharts,
  faultsFromHistory,
  logLinks,
  verdictRows,
  writeRunReport,
} from '../report/run-report.js';
import { runCheckers, formatVerdictTable, type Verdict } from '@chaos-lab/model';
import { readConsumption } from './consumption.js';
import { logDigest, offsetLines } from './evidence.js';
import { closableBatches } from '@chaos-lab/model';
import { parkedTtlDue } from '@chaos-lab/model';
import type { AssignmentPlan } from '@chaos-lab/model';
import type { ObservedMessage, OutputObserver } from './observer.js';
import { SuiteSession, type OffsetSnapshot } from './session.js';
import { Publisher } from './publisher.js';
import { buildBaseline } from '../instances/baseline.js';
import { readFinalState, readPostgresState } from './final-state.js';
import { OnlineMonitor, withOnlineFindings, type OnlineFinding } from './online-monitor.js';
import { InvalidArgumentError, SessionNotReadyError, UnsupportedFaultsError } from '../errors.js';

export interface ScenarioContext {
  /** Prefix for every id of this run (batch ids…). */
  readonly idPrefix: string;
  readonly topics: Topics;
  readonly partitions: number;
}

export interface ScenarioDefinition {
  /** Short name, used in run ids and in `lab run <name>`. */
  readonly name: string;
  readonly description: string;
  /**
   * A git ref of this repository whose coordinator the instances start on: the baseline of a rolling upgrade
   * (`rolling-upgrade` moves them to the current build). Built once into a cache ({@link buildBaseline}); every
   * seed gets a fresh session on it.
   */
  readonly baselineRef?: string;
  /** Coordinator instances. Default 3. */
  readonly instances?: number;
  /** Partitions of each input topic. Default 6. */
  readonly partitions?: number;
  /** How long to wait for every batch to finish. Default 120 000 ms. */
  readonly timeoutMs?: number;
  /** The workload, a pure function of the seed. */
  plan(seed: number, ctx: ScenarioContext): AssignmentPlan;
  /**
   * The faults, drawn from their own random stream of the same seed (so
   * adding a fault never changes the workload). Default: none.
   */
  faults?(ctx: FaultDrawContext): PlannedFault[];
  /** Give up when nothing settles or finishes for this long after the nemesis is done. Default 30 000 ms. */
  readonly stallTimeoutMs?: number;
  /**
   * After the wait, how long the coordinators' group may take to commit every input partition to its end
   * before `inputs-consumed` calls the partition stuck. Default 5000 ms.
   */
  readonly settleBoundMs?: number;
  /**
   * Before the final read, wait until every input published for a batch the plan never registers is past the
   * coordinators' parking TTL ({@link PARKED_TTL_MS}) and its slack, so that `nothing-lost` can tell an input
   * given up in time from one parked for ever. Default false: such inputs are judged only if the seed ran that long.
   */
  readonly awaitParkedTtl?: boolean;
  /** Spread the publishes over this many ms (so faults meet traffic). Default 0: as fast as possible. */
  readonly paceMs?: number;
  /** Extra coordinator settings for this scenario. */
  readonly coordinatorEnv?: Record<string, string>;
}

export interface RunOptions {
  readonly seed: number;
  /** Built coordinator entry point. */
  readonly coordinatorEntry: string;
  /** Where run folders go. Default `LAB_RUNS_DIR` or `./runs`. */
  readonly runsDir?: string;
  /** Progress and result lines. Default: stderr/stdout. */
  readonly out?: (line: string) => void;
  readonly progress?: (line: string) => void;
  /** The command that replays this run, printed at the end. */
  readonly replayCommand?: string;
  /**
   * A known-bad variant of the coordinator to run instead of the production
   * one (`COORDINATOR_VARIANT` of its lab-only entry point); `coordinatorEntry`
   * must then be that entry point.
   */
  readonly variant?: string;
  /** Where the infrastructure comes from. Default: `LAB_PROVIDER`, else `local`. */
  readonly provider?: ProviderName;
}

export interface RunResult {
  readonly runId: string;
  readonly runDir: string;
  readonly valid: boolean;
  readonly verdicts: Verdict[];
  readonly stats: RunStats;
  /** Folders of earlier runs of this seed that were void: the environment broke under them. */
  readonly voidRuns?: readonly string[];
}

/** How many times a seed whose environment broke is run again before its void verdict stands. */
export const MAX_VOID_RUNS = 2;

/** Whether the test bed broke under a run ({@link ENVIRONMENT_HELD} failed): its verdicts are void. */
export function environmentBroke(r: RunResult): boolean {
  return r.verdicts.some((v) => v.checker === ENVIRONMENT_HELD && v.valid === false);
}

export interface RunStats {
  readonly seed: number;
  readonly environmentStartupMs: number;
  readonly instancesReadyMs: number;
  readonly workloadMs: number;
  readonly wallMs: number;
  readonly published: number;
  readonly contents: number;
  readonly observed: number;
  /** Distinct contents settled (assigned or excess) per second, first publish to last settlement. */
  readonly contentsPerSecond: number;
  readonly timedOut: boolean;
  /** True when the run gave up because nothing progressed for the stall timeout. */
  readonly stalled: boolean;
  /** Exit code of each instance after SIGTERM (0 = clean shutdown). */
  readonly instanceExitCodes: (number | null)[];
  /** What the online checkers saw while the seed ran (first finding per checker); absent in older runs. */
  readonly online?: readonly Omit<OnlineFinding, 'error'>[];
}

/** `LAB_RUNS_DIR`, else `runs/` at the root of the workspace this is run from (the nearest folder with a package-lock.json). */
export function defaultRunsDir(from = process.cwd()): string {
  if (process.env.LAB_RUNS_DIR) return resolve(process.env.LAB_RUNS_DIR);
  for (let d = resolve(from); ; d = dirname(d)) {
    if (existsSync(join(d, 'package-lock.json'))) return join(d, 'runs');
    if (dirname(d) === d) return resolve(from, 'runs');
  }
}

/**
 * Everything a run will do, from the scenario and the seed alone: the
 * workload and the faults. Runs and replays call this; so do the tests that
 * check a seed always gives the same plan. The provider is told to the
 * faults' draw (the mixed nemesis draws only what it can run).
 */
export function planOf(def: ScenarioDefinition, seed: number, provider: ProviderName = providerFromEnv()) {
  const partitions = def.partitions ?? 6;
  // One set of topics for every seed (the seeds of a suite share them); the ids carry the seed.
  const prefix = TOPIC_PREFIX;
  const t = topicNames(prefix);
  const plan = def.plan(seed, { idPrefix: `s${seed}`, topics: t, partitions });
  const instanceIds = Array.from({ length: def.instances ?? 3 }, (_, i) => `coordinator-${i + 1}`);
  const faults =
    def.faults?.({
      rng: new SeededRandom((seed ^ FAULT_STREAM) >>> 0),
      instanceIds,
      brokerIds: [1, 2, 3],
      inputTopics: inputTopics(t),
      partitions,
      capabilities: capabilitiesOf(provider),
    }) ?? [];
  return { plan, faults, topics: t, instanceIds, partitions, prefix };
}

const TOPIC_PREFIX = 'lab.';

/** The repository this lab is part of (packages/lab/{src,dist}/scenario/ → four levels up). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/**
 * The verdict row added when the test bed itself broke during a seed (a
 * server died on its own). It fails the seed, and is never counted as a
 * finding about the coordinator (the mutant matrix ignores it).
 */
export const ENVIRONMENT_HELD = 'environment-held';

/** Faults draw from the seed xor this, so the workload's stream is untouched by them. */
const FAULT_STREAM = 0x5eed_fa17;
const PACE_TICK_MS = 100;

export interface SuiteOptions extends Omit<RunOptions, 'seed' | 'replayCommand'> {
  readonly seeds: readonly number[];
  /** The command that replays one seed, printed after its verdict. */
  readonly replayCommand?: (seed: number) => string;
  /** Called with each seed's result as soon as it is known. */
  readonly onResult?: (r: RunResult) => void;
  /** Stop after the first seed for which this holds (the mutant matrix stops at the first catch). */
  readonly stopWhen?: (r: RunResult) => boolean;
}

export interface SuiteResult {
  /** The suite's folder: session logs, and one `seed-<N>` folder per seed. */
  readonly suiteDir: string;
  readonly results: RunResult[];
  readonly wallMs: number;
  /** How many sessions (environment + instances) the seeds needed: 1 unless a seed failed. */
  readonly sessions: number;
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
 * cannot start (the environment fails, the group never settles) rejects.
 */
export async function runSuite(def: ScenarioDefinition, opts: SuiteOptions): Promise<SuiteResult> {
  if (opts.seeds.length === 0) throw new InvalidArgumentError('seeds', '[]', 'at least one seed');
  for (const seed of opts.seeds)
    if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidArgumentError('seed', seed, 'a non-negative integer');
  // Every seed's faults must be ones this provider can run: refused here, before anything starts.
  const provider = opts.provider ?? providerFromEnv();
  const caps = capabilitiesOf(provider);
  const unsupported = opts.seeds.flatMap((seed) =>
    unsupportedFaults(planOf(def, seed, provider).faults, caps).map((u) => ({ seed, kind: u.fault.spec.kind, ...u })),
  );
  if (unsupported.length > 0) throw new UnsupportedFaultsError(def.name, provider, unsupported);
  // Instances run under libfaketime only when a seed plans to move a clock: it costs every clock read.
  const clockControl = opts.seeds.some((seed) =>
    planOf(def, seed, provider).faults.some((f) => f.spec.kind === 'clock-skew'),
  );
  const progress = opts.progress ?? ((l: string) => process.stderr.write(l + '\n'));
  const t0 = performance.now();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const name = `${def.name}${opts.variant ? `-${opts.variant}` : ''}`;
  const seedsLabel = opts.seeds.length === 1 ? `seed${opts.seeds[0]}` : `${opts.seeds.length}seeds`;
  const suiteDir = resolve(opts.runsDir ?? defaultRunsDir(), `${name}-${seedsLabel}-${stamp}`);
  await mkdir(suiteDir, { recursive: true });
  const { topics: t, partitions, prefix } = planOf(def, opts.seeds[0]!);
  // The instances of a suite with a baseline start on that build; the current one is what they upgrade to.
  const baseline =
    def.baselineRef === undefined ? undefined : await buildBaseline(def.baselineRef, { root: REPO_ROOT, progress });
  if (baseline)
    progress(
      `lab: instances start on ${baseline.ref} (${baseline.sha.slice(0, 12)}${baseline.reused ? ', built before' : ''}) and upgrade to ${opts.coordinatorEntry}`,
    );
  const results: RunResult[] = [];
  let session: SuiteSession | undefined;
  let sessions = 0;
  const { replayCommand: replay, seeds: _seeds, onResult: _onResult, stopWhen, ...rest } = opts;
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
          sessions++;
          session = await SuiteSession.open(def, {
            coordinatorEntry: baseline?.entry ?? opts.coordinatorEntry,
            ...(opts.variant !== undefined && { variant: opts.variant }),
            dir: suiteDir,
            logName: sessions === 1 ? 'logs' : `logs-${sessions}`,
            topics: t,
            topicPrefix: prefix,
            partitions,
            groupId: `coordinator-${name}-${stamp}-${sessions}`,
            provider,
            progress,
            clockControl,
          });
          opened = true;
        }
        const seedDir = join(suiteDir, `seed-${seed}`);
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
        break;
      }
      if (stopWhen?.(results.at(-1)!)) break;
    }
  } finally {
    await session?.close();
  }
  return { suiteDir, results, wallMs: performance.now() - t0, sessions };
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
  /** When this seed began (before its session opened, if it opened one). */
  readonly t0: number;
  readonly progress: (line: string) => void;
}

/** What {@link runSeed}'s waits answer when the environment broke under them. */
const BROKE: unique symbol = Symbol('environment broke');

async function runSeed(def: ScenarioDefinition, session: SuiteSession, opts: SeedOptions): Promise<RunResult> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const progress = opts.progress;
  const t0 = opts.t0;
  const { runId, seedDir } = opts;
  await mkdir(join(seedDir, 'logs'), { recursive: true });
  const { plan, faults, topics: t } = planOf(def, opts.seed, opts.provider);
  const idPrefix = `s${opts.seed}-`;
  await writeFile(join(seedDir, 'plan.json'), JSON.stringify({ ...plan, faults }, null, 1));
  progress(
    `lab: ${runId}: ${plan.publishes.length} publishes planned (${plan.expected.batches} batches, ${plan.expected.contents} contents)`,
  );
  const { env, instances } = session;

  const recorder = new HistoryRecorder();
  // The history counts from here; the report places it on the wall clock Prometheus uses.
  const recorderEpoch = Date.now();
  let workStartEpoch = recorderEpoch;
  let observer: OutputObserver | undefined;
  let publisher: Publisher | undefined;
  let timedOut = false;
  let stalled = false;
  let broke = false;
  let tWorkStart = 0;
  let tLastSettled = 0;
  let nemesisDone: Promise<void> | undefined;
  let abortNemesis: (() => void) | undefined;
  // A seed on a baseline upgrades its instances: the next seed must start on the baseline again.
  let closeSession = opts.last || opts.baseline === true;
  let stopWatch = () => {};
  let monitor: OnlineMonitor | undefined;
  try {
    // The logs of a seed: everything from the session's start for the seed that opened it, else what was appended.
    session.labMetrics.seed(def.name, opts.seed, true);
    const logMarks = opts.opened ? new Map<string, number>() : await logSizes(session.logDir);
    const waitMs = await session.ready(progress);
    const readyMs = (opts.opened ? session.instancesStartMs : 0) + waitMs;
    progress(
      `lab: ${instances.all.length} instances ready, consumer group settled, in ${readyMs.toFixed(0)} ms${opts.opened ? '' : ' (session reused)'}`,
    );

    // What belongs to this seed on the shared topics: outputs after the offsets the topics had before it, about
    // its own batches; a dead letter is about the input it quarantines, so about an input offset of this seed.
    const outputStart = await session.endOffsets(outputTopics(t));
    const inputStart = await session.endOffsets(inputTopics(t));
    const accept = (m: ObservedMessage) => belongsToSeed(m, idPrefix, outputStart, inputStart);

    // What "done" means, tracked from the outputs as they arrive.
    const registered = new Set(
      plan.publishes.flatMap((p) => (p.event?.event_type === EventType.BatchRegistered ? [p.key] : [])),
    );
    // Contents of batches nobody registers stay parked: they never settle and are not waited for.
    const contentKeys = new Set(
      plan.publishes.flatMap((p) =>
        p.event?.event_type === EventType.ContentProvisioned && registered.has(p.event.data.batch_id)
          ? [`${p.event.data.batch_id}/${p.event.data.text_storage_id}`]
          : [],
      ),
    );
    const finished = new Set<string>();
    const settled = new Set<string>();
    const onEvent = (e: OutputEvent) => {
      if (e.event_type === EventType.BatchReady || e.event_type === EventType.BatchTimedOut)
        finished.add(e.data.batch_id);
      if (e.event_type === EventType.SlotAssigned || e.event_type === EventType.ExcessContent) {
        const k = `${e.data.batch_id}/${e.data.text_storage_id}`;
        if (!settled.has(k)) {
          settled.add(k);
          tLastSettled = performance.now();
        }
      }
    };
    observer = session.observer;
    observer.attach({ recorder, onEvent, accept });
    publisher = new Publisher(env.kafka.bootstrapServers, recorder);
    await publisher.start();
    // A server of the test bed that dies (the mock broker aborts on an assertion now and then) must end the seed
    // at once with the environment blamed: every wait below talks to it and would otherwise wait out kafkajs'
    // retries, again and again. `held` races any such wait against the death.
    const watch = session.watchEnvironment();
    stopWatch = watch.stop;
    const held = <T>(p: Promise<T>): Promise<T | typeof BROKE> =>
      Promise.race([p, watch.broke.then((): typeof BROKE => BROKE)]);

    tWorkStart = performance.now();
    workStartEpoch = Date.now();
    // The checkers' online parts, every second from the first publish to the final read.
    monitor = new OnlineMonitor({
      entries: () => recorder.entries,
      nowMs: () => recorder.elapsedMs(),
      readSnapshot: () => readPostgresState(env.endpoints.postgresUrl, idPrefix, 2000),
      progress,
    });
    monitor.start();
    // Paced runs send a chunk every PACE_TICK_MS so that the faults meet traffic.
    const pace = def.paceMs ?? 0;
    const maxChunk = pace > 0 ? Math.max(1, Math.ceil(plan.publishes.length / (pace / PACE_TICK_MS))) : 200;
    const chunks: (typeof plan.publishes)[] = [];
    for (const p of plan.publishes) {
      const last = chunks.at(-1);
      const sameGroup = last && p.group !== undefined && last[0]?.group === p.group;
      if (last && (sameGroup || (p.group === undefined && last[0]?.group === undefined && last.length < maxChunk)))
        last.push(p);
      else chunks.push([p]);
    }
    const nemesisAbort = new AbortController();
    const nemesis = runNemesis(
      faults,
      {
        env,
        instances,
        links: env.links,
        inputTopics: inputTopics(t),
        ...(opts.baseline && { upgradeEntry: opts.coordinatorEntry }),
      },
      recorder,
      {
        t0: tWorkStart,
        signal: nemesisAbort.signal,
        progress,
        onFault: (f, active) => session.labMetrics.fault(f, active),
      },
    );
    nemesisDone = nemesis.finally(() => undefined);
    abortNemesis = () => nemesisAbort.abort();
    let sent = 0;
    let lastProgress = performance.now();
    const report = () =>
      progress(
        `lab: published ${sent}/${plan.publishes.length}, settled ${settled.size}/${contentKeys.size} contents, finished ${finished.size}/${registered.size} batches, ${observer?.count ?? 0} outputs`,
      );
    for (const [i, c] of chunks.entries()) {
      if (pace > 0) {
        const due = tWorkStart + i * PACE_TICK_MS - performance.now();
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      }
      if ((await held(publisher.send(c))) === BROKE) break;
      sent += c.length;
      if (performance.now() - lastProgress > 2000) {
        report();
        lastProgress = performance.now();
      }
    }
    await held(nemesis);
    if (faults.length > 0 && !watch.broken) {
      // Whatever a fault left behind (a toxic, a disabled proxy) must not outlive the nemesis.
      await env.links.reset();
      progress(`lab: nemesis done (${faults.length} faults); waiting for the pipeline to finish`);
    }
    const deadline = performance.now() + (def.timeoutMs ?? 120_000);
    // A pipeline that stops making progress is a finding, not a reason to wait out the whole timeout.
    const stallMs = def.stallTimeoutMs ?? 30_000;
    let lastCount = -1;
    let lastChange = performance.now();
    // Once progress pauses, wait only for what the inputs can still produce: a publish that failed (`info`), or
    // that the broker acknowledged but never stored, will be handled by no one, and a batch short of definitely
    // delivered inputs and without a deadline cannot close — the checkers ask no more (every-batch-finished).
    // The broker's side: which acknowledged publishes of this seed its topics do not hold, and the history as the
    // coordinator could have seen it (those publishes as not sent). Undefined when the topics cannot be read back.
    const seenWithout = (lost: readonly { index: number }[]): readonly HistoryEntry[] =>
      lost.length === 0
        ? [...recorder.entries]
        : withUnstoredPublishes(
            recorder.entries,
            new Set(lost.map((l) => l.index)),
            'acknowledged, but not in its topic: lost between the client and the broker',
          );
    const auditInputs = async (waitMs?: number) => {
      const ends = await session.endOffsets(inputTopics(t)).catch(() => undefined);
      if (!ends || !(await session.inputLog.caughtUp(ends, waitMs))) return undefined;
      const lost = session.inputLog.missing(recorder.entries, inputStart);
      return { ends, lost, seen: seenWithout(lost) };
    };
    let lastAudit = 0;
    let lastCommitCheck = 0;
    let lastCommitted: bigint | undefined;
    let lastJoined: number | undefined;
    /** The sum of the group's committed offsets over the input partitions; undefined when unreadable. */
    const committedTotal = async (): Promise<bigint | undefined> => {
      const rows = await session.groupProgress(inputTopics(t), new Map()).catch(() => undefined);
      return rows?.reduce((a, r) => a + (BigInt(r.committed) > 0n ? BigInt(r.committed) : 0n), 0n);
    };
    /** When the inputs were last audited (what they can still produce known); the stall bound waits for one. */
    let lastAudited = -Infinity;
    let auditBehindSaid = false;
    const reexpect = async () => {
      const audit = await auditInputs(2000);
      if (!audit) {
        if (!auditBehindSaid)
          progress(
            'lab: the input log is behind the topics: no stall is judged until it has caught up, or twice the bound',
          );
        auditBehindSaid = true;
        return;
      }
      lastAudited = performance.now();
      const closable = closableBatches(audit.seen);
      const okRegistered = new Set<string>();
      const okContents = new Set<string>();
      for (const p of publishedEvents(audit.seen, { outcomes: ['ok'] })) {
        if (p.event?.event_type === EventType.BatchRegistered) okRegistered.add(p.event.data.batch_id);
        if (p.event?.event_type === EventType.ContentProvisioned)
          okContents.add(`${p.event.data.batch_id}/${p.event.data.text_storage_id}`);
      }
      const before = registered.size + contentKeys.size;
      for (const b of registered) if (!closable.has(b) || !okRegistered.has(b)) registered.delete(b);
      for (const k of contentKeys)
        if (!okContents.has(k) || !okRegistered.has(k.slice(0, k.lastIndexOf('/')))) contentKeys.delete(k);
      const dropped = before - registered.size - contentKeys.size;
      if (dropped > 0)
        progress(
          `lab: not waiting for ${dropped} batch(es)/content(s) their inputs cannot produce (${audit.lost.length} acknowledged publish(es) not in their topic)`,
        );
    };
    const done = () => [...registered].every((b) => finished.has(b)) && [...contentKeys].every((k) => settled.has(k));
    while (!done()) {
      if (watch.broken) {
        timedOut = true;
        broke = true;
        progress(`lab: the environment broke (${session.environmentProblems().join('; ')}); not waiting any longer`);
        break;
      }
      const count = finished.size + settled.size;
      if (count !== lastCount) {
        lastCount = count;
        lastChange = performance.now();
      }
      // The group committing further is progress too: a batch's registration consumed after its contents
      // settles nothing by itself until the parked contents drain.
      if (performance.now() - lastChange > 2000 && performance.now() - lastCommitCheck > 1000) {
        lastCommitCheck = performance.now();
        const committed = await held(committedTotal());
        if (typeof committed === 'bigint' && committed !== lastCommitted) {
          if (lastCommitted !== undefined) lastChange = performance.now();
          lastCommitted = committed;
        }
        // A member joining the group is progress too: the group is rebalancing, not stuck (the run's overall
        // timeout still bounds the wait).
        const joined = await held(session.lastGroupJoinMs().catch(() => undefined));
        if (typeof joined === 'number' && joined !== lastJoined) {
          if (lastJoined !== undefined) lastChange = performance.now();
          lastJoined = joined;
        }
      }
      if (performance.now() - lastChange > 3000 && performance.now() - lastAudit > 3000) {
        lastAudit = performance.now();
        await held(reexpect());
        continue;
      }
      // Stuck is judged on what the inputs can still produce: once they were audited since progress stopped, or,
      // if the input log stays behind, after a second bound (fuzz seed 87 on 5234bd4: an absent `info` content
      // waited for, the log 2 s behind at every audit after a leader move, judged stuck with nothing stuck).
      const still = performance.now() - lastChange;
      const stuck = still > stallMs && (lastAudited > lastChange || still > 2 * stallMs);
      if (performance.now() > deadline || stuck) {
        timedOut = true;
        stalled = stuck;
        progress(
          stalled
            ? `lab: no progress for ${stallMs} ms: the pipeline is stuck; checking what there is`
            : `lab: gave up waiting after ${def.timeoutMs ?? 120_000} ms; checking what there is`,
        );
        break;
      }
      if (performance.now() - lastProgress > 2000) {
        report();
        lastProgress = performance.now();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    report();
    // Everything is judged at one moment, after the liveness bound: first the group gets `settleBoundMs` to
    // consume every input to its end (inputs-consumed), then the outputs and the stores are read. Read the
    // other way round, a pipeline that resumed within the bound was judged stuck by the final read and
    // consumed by inputs-consumed in the same seed (seen in CI: fuzz seed 3).
    // What the broker acknowledged but does not hold, no consumer could ever see: the local mock broker loses a
    // write produced to a partition while its leadership moves. The coordinator is judged on what the topics hold
    // — those publishes count as not sent (`info`) — and the loss is reported as the broker's, never hidden.
    const broken = session.environmentProblems();
    const audited = watch.broken ? BROKE : await held(auditInputs());
    const audit = audited === BROKE ? undefined : audited;
    const brokerLost = audit?.lost ?? [];
    if (!audit)
      broken.push('the input topics could not be read back to their end, so no acknowledged publish could be verified');
    else if (brokerLost.length > 0) {
      const first = brokerLost[0]!;
      progress(
        `lab: the broker lost ${brokerLost.length} acknowledged publish(es) (first: #${first.index} to ${first.topic}, key ${first.key ?? '-'}): not in their topic, so judged as not sent — a defect of the test bed's broker, not of the coordinator`,
      );
    }
    const consumption = await readConsumption(session, inputTopics(t), audit?.ends, def.settleBoundMs ?? 5_000, {
      entries: recorder.entries,
      nowMs: () => recorder.elapsedMs(),
    });
    stopWatch();
    // Let redeliveries and late duplicates land before the final read.
    await new Promise((r) => setTimeout(r, 500));
    if (def.awaitParkedTtl === true) {
      const due = parkedTtlDue(recorder.entries);
      const waitMs = due === undefined ? 0 : due - recorder.elapsedMs();
      if (waitMs > 0) {
        progress(
          `lab: waiting ${(waitMs / 1000).toFixed(1)} s for inputs of never-registered batches to pass the parking TTL`,
        );
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
    // The observer must have read every output to the topics' ends: an instrument that stopped reading (seen
    // once, kafka-faults seed 20 under five sessions: 89 outputs published, none observed for 30 s) voids the
    // run instead of making the coordinator look as if it had said nothing.
    const outEnds = await session.endOffsets(outputTopics(t)).catch(() => undefined);
    if (outEnds && !(await observer.caughtUp(outEnds, 10_000)))
      broken.push(
        `the lab's output observer stopped ${observer.behind(outEnds)} message(s) short of the output topics' ends`,
      );
    const workloadMs = performance.now() - tWorkStart;

    observer.detach();
    const observed = observer.count;
    const skipped = observer.skipped;
    await held(publisher.stop());
    // Each instance's metrics at the end of the seed go to the run folder (cumulative over the session).
    await Promise.all(
      instances.all.map(async (x) =>
        writeFile(
          join(seedDir, 'logs', `${x.id}.metrics.txt`),
          await x.metrics().catch((e: Error) => `# unavailable: ${e.message}\n`),
        ),
      ),
    );
    const online = await monitor.stop();
    const final = await readFinalState(env.endpoints.postgresUrl, env.endpoints.redisUrl, 'bc:', idPrefix);
    final.consumption = consumption;
    // The history with every output observed until now (the audit's copy was taken before the settle).
    const history: readonly HistoryEntry[] = audit ? seenWithout(audit.lost) : [...recorder.entries];
    const verdicts = withOnlineFindings(runCheckers({ history, final }), online);
    // A test bed that broke under the run voids the verdicts: said as such, never as a finding about the system.
    if (broken.length > 0) {
      const errors = broken.map((message) => ({ message }));
      verdicts.push({
        checker: ENVIRONMENT_HELD,
        valid: false,
        errorCount: errors.length,
        firstError: errors[0]!,
        errors,
        stats: {},
      });
      progress(`lab: the environment broke during the run; its verdicts say nothing about the coordinator`);
    }
    const progressOfGroup = audit
      ? await session.groupProgress(inputTopics(t), audit.ends).catch((e: Error) => ({ unavailable: e.message }))
      : { unavailable: 'the input topics could not be read' };
    await writeFile(join(seedDir, 'kafka-offsets.json'), JSON.stringify(progressOfGroup, null, 1));
    const valid = verdicts.every((v) => v.valid === true) && !timedOut;
    // Asked now: a session closed below takes its Prometheus with it. The end of the window is a scrape later
    // than the end of the work, so the last counts are in.
    const chartsEnd = Date.now();
    if (env.prometheus) await new Promise((r) => setTimeout(r, env.prometheus!.scrapeIntervalMs * 1.5));
    const charts = await collectCharts(
      env.prometheus,
      CHAOS_CHARTS,
      workStartEpoch,
      chartsEnd + (env.prometheus?.scrapeIntervalMs ?? 0),
    );
    // A seed that found something ends its session: the next seed must not inherit a broken system.
    if (!valid) closeSession = true;
    let codes: (number | null)[] = [];
    if (closeSession) {
      codes = await session.close();
      const badExits = codes.flatMap((c, i) => (c === 0 ? [] : [`${instances.all[i]!.id} exited ${c}`]));
      if (badExits.length) progress(`lab: unclean instance exits: ${badExits.join(', ')}`);
    }
    await copyLogSlices(session.logDir, logMarks, join(seedDir, 'logs'));

    const settleMs = (tLastSettled || performance.now()) - tWorkStart;
    const stats: RunStats = {
      seed: opts.seed,
      environmentStartupMs: opts.opened ? Math.round(session.environmentStartupMs) : 0,
      instancesReadyMs: Math.round(readyMs),
      workloadMs: Math.round(workloadMs),
      wallMs: Math.round(performance.now() - t0),
      published: plan.publishes.length,
      contents: contentKeys.size,
      observed,
      contentsPerSecond: Math.round((settled.size / settleMs) * 1000),
      timedOut,
      stalled,
      instanceExitCodes: codes,
      online: online.map(({ error: _error, ...f }) => f),
    };
    await writeFile(join(seedDir, 'history.jsonl'), historyToJSONL(history));
    await writeFile(join(seedDir, 'final-state.json'), JSON.stringify(final, null, 1));
    await writeFile(join(seedDir, 'verdicts.json'), JSON.stringify(verdicts, null, 2));
    await writeFile(
      join(seedDir, 'summary.json'),
      JSON.stringify(
        {
          runId,
          scenario: def.name,
          variant: opts.variant ?? null,
          valid,
          stats,
          sessionLogs: session.logDir,
          outputsOfOtherSeedsSkipped: skipped,
          brokerLostAcknowledgedPublishes: brokerLost,
          replay: opts.replayCommand,
        },
        null,
        2,
      ),
    );

    const reportPath = await writeRunReport(seedDir, {
      kind: 'chaos',
      title: `${def.name} — seed ${opts.seed}${opts.variant ? ` — variant ${opts.variant}` : ''}`,
      runId: `${runId}/seed-${opts.seed}`,
      startedAt: workStartEpoch,
      endedAt: Math.max(workStartEpoch, Date.now()),
      outcome: valid ? 'valid' : 'invalid',
      ...(opts.replayCommand !== undefined && { replayCommand: opts.replayCommand }),
      facts: [
        { label: 'scenario', value: def.name },
        { label: 'seed', value: String(opts.seed) },
        ...(opts.variant ? [{ label: 'variant', value: opts.variant }] : []),
        { label: 'instances', value: String(instances.all.length) },
        { label: 'faults', value: String(faults.length) },
        { label: 'publishes', value: String(stats.published) },
        { label: 'contents settled', value: `${settled.size} of ${stats.contents}` },
        { label: 'throughput', value: `${stats.contentsPerSecond} contents/s` },
        { label: 'workload', value: `${(stats.workloadMs / 1000).toFixed(1)} s` },
        ...(timedOut
          ? [{ label: 'gave up waiting', value: broke ? 'environment broke' : stalled ? 'stalled' : 'timeout' }]
          : []),
        ...(brokerLost.length > 0
          ? [{ label: 'acknowledged publishes not in their topic', value: String(brokerLost.length) }]
          : []),
        ...online.map((f) => ({
          label: `seen online: ${f.checker}`,
          value: `at +${(f.detectedMs / 1000).toFixed(1)} s, ${((f.detectedMs - f.effectMs) / 1000).toFixed(1)} s after it happened`,
        })),
      ],
      faults: faultsFromHistory(history, recorderEpoch),
      charts,
      verdicts: verdictRows(verdicts),
      logs: await logLinks(seedDir, join(seedDir, 'logs')),
    }).catch((err: Error) => {
      progress(`lab: the run report could not be written: ${err.message}`);
      return undefined;
    });

    out('');
    out(`${def.name} (seed ${opts.seed}): ${valid ? 'VALID' : 'INVALID'}`);
    out(formatVerdictTable(verdicts));
    if (timedOut)
      out(
        broke
          ? 'stopped waiting for the pipeline: the environment broke'
          : stalled
            ? `pipeline stopped making progress: nothing settled for ${def.stallTimeoutMs ?? 30_000} ms`
            : `pipeline did not finish within ${def.timeoutMs ?? 120_000} ms`,
      );
    if (!valid) {
      // What outlives a CI machine is its output: the group's offsets and the instances' complaints, in short.
      out("where the coordinators' group stands on the input partitions the seed used:");
      for (const l of Array.isArray(progressOfGroup) ? offsetLines(progressOfGroup, inputStart) : []) out(l);
      if (!Array.isArray(progressOfGroup)) out(`  unreadable: ${progressOfGroup.unavailable}`);
      out('warnings and errors in the instance logs of this seed:');
      for (const l of await logDigest(join(seedDir, 'logs'))) out(l);
    }
    out(
      `wall ${(stats.wallMs / 1000).toFixed(1)} s · environment ${opts.opened ? `${stats.environmentStartupMs} ms` : 'reused'} · group ready ${stats.instancesReadyMs} ms · workload ${(stats.workloadMs / 1000).toFixed(1)} s · ${stats.contentsPerSecond} contents/s`,
    );
    out(`run folder: ${seedDir}`);
    if (reportPath) out(`report: ${reportPath}`);
    if (opts.replayCommand) out(`replay: ${opts.replayCommand}`);
    return { runId, runDir: seedDir, valid, verdicts, stats };
  } catch (err) {
    // A seed that could not run leaves its session in an unknown state.
    closeSession = true;
    throw err;
  } finally {
    session.labMetrics.seed(def.name, opts.seed, false);
    stopWatch();
    await monitor?.stop().catch(() => undefined);
    abortNemesis?.();
    await nemesisDone?.catch(() => {});
    observer?.detach();
    await publisher?.stop();
    if (closeSession) await session.close();
  }
}

/**
 * Whether an output read from the shared topics belongs to the seed: it came
 * after the offsets the topic had when the seed began, and it is about one of
 * the seed's batches — or, for a dead letter, about an input published during
 * the seed. An unparseable output cannot be attributed and is kept (the
 * checkers report it).
 */
function belongsToSeed(
  m: ObservedMessage,
  idPrefix: string,
  outputStart: OffsetSnapshot,
  inputStart: OffsetSnapshot,
): boolean {
  if (BigInt(m.offset) < (outputStart.get(`${m.topic}/${m.partition}`) ?? 0n)) return false;
  const e = m.event;
  if (!e) return true;
  if (e.event_type === EventType.DeadLetter) {
    const from = inputStart.get(`${e.data.source_topic}/${e.data.source_partition}`) ?? 0n;
    return /^\d+$/.test(e.data.source_offset) ? BigInt(e.data.source_offset) >= from : true;
  }
  return e.data.batch_id.startsWith(idPrefix);
}

/** Size of every file in a log folder, to cut out what one seed appended. */
async function logSizes(dir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const st = await stat(join(dir, f)).catch(() => undefined);
    if (st?.isFile()) sizes.set(f, st.size);
  }
  return sizes;
}

/** Copies what each log file gained since `marks` into `to` (a whole file when it is new). */
async function copyLogSlices(dir: string, marks: Map<string, number>, to: string): Promise<void> {
  for (const [f, size] of await logSizes(dir)) {
    const from = marks.get(f) ?? 0;
    if (from === 0) {
      await copyFile(join(dir, f), join(to, f));
      continue;
    }
    if (size <= from) continue;
    const fh = await open(join(dir, f), 'r');
    try {
      const buf = Buffer.alloc(size - from);
      await fh.read(buf, 0, buf.length, from);
      await writeFile(join(to, f), buf);
    } finally {
      await fh.close();
    }
  }
}
