/**
 * Scenarios and the runner. A scenario declares what to run — a workload
 * plan drawn from a seed, how many instances, how long to wait — and the
 * runner does the rest the same way for every scenario: environment up,
 * topics created, instances started, the plan published while the outputs
 * are recorded, the final state read, the checkers run, everything written
 * to the run folder, and a replay command printed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import {
  EventType,
  inputTopics,
  outputTopics,
  topics as topicNames,
  type OutputEvent,
  type Topics,
} from '@chaos-lab/contracts';
import { startEnvironment, type StartedEnvironment } from '../environment/environment.js';
import { CoordinatorInstances } from '../instances/instances.js';
import { HistoryRecorder } from '../history/history.js';
import { SeededRandom } from '../schedule/random.js';
import type { FaultDrawContext } from '../schedule/fault-schedule.js';
import { runNemesis, type PlannedFault } from '../nemesis/index.js';
import { runCheckers, formatVerdictTable, type Verdict } from '../checkers/index.js';
import type { AssignmentPlan } from '../workload/assignment-workload.js';
import { OutputObserver } from './observer.js';
import { Publisher } from './publisher.js';
import { readFinalState } from './final-state.js';
import { InvalidArgumentError } from '../errors.js';

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
}

export interface RunResult {
  readonly runId: string;
  readonly runDir: string;
  readonly valid: boolean;
  readonly verdicts: Verdict[];
  readonly stats: RunStats;
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
 * check a seed always gives the same plan.
 */
export function planOf(def: ScenarioDefinition, seed: number) {
  const partitions = def.partitions ?? 6;
  const prefix = `lab.${seed}.`;
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
    }) ?? [];
  return { plan, faults, topics: t, instanceIds, partitions, prefix };
}

/** Faults draw from the seed xor this, so the workload's stream is untouched by them. */
const FAULT_STREAM = 0x5eed_fa17;
const PACE_TICK_MS = 100;

export async function runScenario(def: ScenarioDefinition, opts: RunOptions): Promise<RunResult> {
  if (!Number.isSafeInteger(opts.seed) || opts.seed < 0)
    throw new InvalidArgumentError('seed', opts.seed, 'a non-negative integer');
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const progress = opts.progress ?? ((l: string) => process.stderr.write(l + '\n'));
  const t0 = performance.now();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const runId = `${def.name}${opts.variant ? `-${opts.variant}` : ''}-seed${opts.seed}-${stamp}`;
  const runDir = resolve(opts.runsDir ?? defaultRunsDir(), runId);
  const logDir = join(runDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const { plan, faults, topics: t, instanceIds, partitions, prefix } = planOf(def, opts.seed);
  const instanceCount = instanceIds.length;
  await writeFile(join(runDir, 'plan.json'), JSON.stringify({ ...plan, faults }, null, 1));
  progress(
    `lab: ${runId}: ${plan.publishes.length} publishes planned (${plan.expected.batches} batches, ${plan.expected.contents} contents)`,
  );

  const recorder = new HistoryRecorder();
  let env: StartedEnvironment | undefined;
  let instances: CoordinatorInstances | undefined;
  let observer: OutputObserver | undefined;
  let publisher: Publisher | undefined;
  let timedOut = false;
  let stalled = false;
  let tReady = 0;
  let tWorkStart = 0;
  let tLastSettled = 0;
  let nemesisDone: Promise<void> | undefined;
  let abortNemesis: (() => void) | undefined;
  try {
    env = await startEnvironment({ logDir });
    progress(
      `lab: environment up in ${env.startupMs.toFixed(0)} ms (redis ${env.redis.port}, postgres ${env.postgres.port}, kafka ${env.kafka.bootstrapServers.join(',')})`,
    );
    for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, partitions);
    for (const topic of outputTopics(t)) await env.kafka.createTopic(topic, 3);

    const tInst = performance.now();
    const groupId = `coordinator-${runId}`;
    // Every instance reaches Redis and Postgres through its own proxies, so one can be cut off alone.
    const linked = new Map<number, Record<string, string>>();
    for (const [i, id] of instanceIds.entries()) {
      const l = await env.links.create(id);
      linked.set(i, { COORDINATOR_REDIS_URL: l.redisUrl, COORDINATOR_POSTGRES_URL: l.postgresUrl });
    }
    instances = await CoordinatorInstances.start({
      entry: opts.coordinatorEntry,
      count: instanceCount,
      logDir,
      envFor: (i) => linked.get(i) ?? {},
      env: {
        ...env.coordinatorEnv(),
        COORDINATOR_TOPIC_PREFIX: prefix,
        COORDINATOR_KAFKA_GROUP_ID: groupId,
        // The mock broker rebalances after (session timeout − 1 s) and needs more than ~3 s to join at all.
        COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: '4000',
        COORDINATOR_SWEEP_INTERVAL_MS: '500',
        COORDINATOR_LOG_LEVEL: process.env.LAB_COORDINATOR_LOG_LEVEL ?? 'info',
        ...def.coordinatorEnv,
        ...(opts.variant !== undefined && { COORDINATOR_VARIANT: opts.variant }),
      },
    });
    await instances.waitForBalancedGroup(inputTopics(t).length * partitions);
    tReady = performance.now() - tInst;
    progress(`lab: ${instances.all.length} instances ready, consumer group settled, in ${tReady.toFixed(0)} ms`);

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
    observer = new OutputObserver(
      env.kafka.bootstrapServers,
      outputTopics(t),
      `lab-observer-${runId}`,
      recorder,
      onEvent,
    );
    await observer.start();
    publisher = new Publisher(env.kafka.bootstrapServers, recorder);
    await publisher.start();

    tWorkStart = performance.now();
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
    const nemesis = runNemesis(faults, { env, instances, links: env.links, inputTopics: inputTopics(t) }, recorder, {
      t0: tWorkStart,
      signal: nemesisAbort.signal,
      progress,
    });
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
      await publisher.send(c);
      sent += c.length;
      if (performance.now() - lastProgress > 2000) {
        report();
        lastProgress = performance.now();
      }
    }
    await nemesis;
    if (faults.length > 0) {
      // Whatever a fault left behind (a toxic, a disabled proxy) must not outlive the nemesis.
      await env.links.reset();
      progress(`lab: nemesis done (${faults.length} faults); waiting for the pipeline to finish`);
    }
    const deadline = performance.now() + (def.timeoutMs ?? 120_000);
    // A pipeline that stops making progress is a finding, not a reason to wait out the whole timeout.
    const stallMs = def.stallTimeoutMs ?? 30_000;
    let lastCount = -1;
    let lastChange = performance.now();
    while (finished.size < registered.size || settled.size < contentKeys.size) {
      const count = finished.size + settled.size;
      if (count !== lastCount) {
        lastCount = count;
        lastChange = performance.now();
      }
      if (performance.now() > deadline || performance.now() - lastChange > stallMs) {
        timedOut = true;
        stalled = performance.now() - lastChange > stallMs;
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
    // Let redeliveries and late duplicates land before the final read.
    await new Promise((r) => setTimeout(r, 500));
    const workloadMs = performance.now() - tWorkStart;

    await observer.stop();
    await publisher.stop();
    // Each instance's final metrics go to the run folder (the report and a reader use them; nothing parses logs).
    await Promise.all(
      instances.all.map(async (x) =>
        writeFile(
          join(runDir, 'logs', `${x.id}.metrics.txt`),
          await x.metrics().catch((e: Error) => `# unavailable: ${e.message}\n`),
        ),
      ),
    );
    const codes = await Promise.all(instances.all.map((x) => x.stop()));
    const badExits = codes.flatMap((c, i) => (c === 0 ? [] : [`${instances!.all[i]!.id} exited ${c}`]));
    if (badExits.length) progress(`lab: unclean instance exits: ${badExits.join(', ')}`);
    const final = await readFinalState(env.endpoints.postgresUrl, env.endpoints.redisUrl);
    const verdicts = runCheckers({ history: recorder.entries, final });
    const valid = verdicts.every((v) => v.valid === true) && !timedOut;

    const settleMs = (tLastSettled || performance.now()) - tWorkStart;
    const stats: RunStats = {
      seed: opts.seed,
      environmentStartupMs: Math.round(env.startupMs),
      instancesReadyMs: Math.round(tReady),
      workloadMs: Math.round(workloadMs),
      wallMs: Math.round(performance.now() - t0),
      published: plan.publishes.length,
      contents: contentKeys.size,
      observed: observer.count,
      contentsPerSecond: Math.round((settled.size / settleMs) * 1000),
      timedOut,
      stalled,
      instanceExitCodes: codes,
    };
    await writeFile(join(runDir, 'history.jsonl'), recorder.toJSONL());
    await writeFile(join(runDir, 'final-state.json'), JSON.stringify(final, null, 1));
    await writeFile(join(runDir, 'verdicts.json'), JSON.stringify(verdicts, null, 2));
    await writeFile(
      join(runDir, 'summary.json'),
      JSON.stringify(
        { runId, scenario: def.name, variant: opts.variant ?? null, valid, stats, replay: opts.replayCommand },
        null,
        2,
      ),
    );

    out('');
    out(`${def.name} (seed ${opts.seed}): ${valid ? 'VALID' : 'INVALID'}`);
    out(formatVerdictTable(verdicts));
    if (timedOut) out(`pipeline did not finish within ${def.timeoutMs ?? 120_000} ms`);
    out(
      `wall ${(stats.wallMs / 1000).toFixed(1)} s · environment ${stats.environmentStartupMs} ms · instances ready ${stats.instancesReadyMs} ms · workload ${(stats.workloadMs / 1000).toFixed(1)} s · ${stats.contentsPerSecond} contents/s`,
    );
    out(`run folder: ${runDir}`);
    if (opts.replayCommand) out(`replay: ${opts.replayCommand}`);
    return { runId, runDir, valid, verdicts, stats };
  } finally {
    abortNemesis?.();
    await nemesisDone?.catch(() => {});
    await observer?.stop();
    await publisher?.stop();
    await instances?.stop();
    await env?.stop();
  }
}
