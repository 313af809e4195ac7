/**
 * A suite session: one environment, its topics, the coordinator instances
 * (each behind its own Redis/Postgres proxies) and a settled consumer group,
 * shared by the seeds of a suite run one after another. Every seed's ids
 * carry the seed (`s<seed>-…`), so seeds never collide in the stores, and
 * each seed's history and final read are cut to its own ids and offsets.
 *
 * Paying the start-up (environment, three processes, a consumer group that
 * takes several mock-broker rebalances to settle) once per suite rather than
 * once per seed is what makes several seeds per suite affordable. A seed that
 * finds a violation ends its session: the next seed starts on fresh ones, so
 * a broken system under test never contaminates another seed's verdict.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { inputTopics, outputTopics, type Topics } from '@chaos-lab/contracts';
import { startEnvironment, type ProviderName, type StartedEnvironment } from '../environment/index.js';
import { CoordinatorInstances } from '../instances/instances.js';
import type { CompiledScenario } from './definition.js';
import { OutputObserver } from './observer.js';
import { InputLog } from './input-log.js';
import { LabMetricsServer } from '../observability/lab-metrics.js';
import { SessionNotReadyError } from '../errors.js';
import { PARKED_TTL_MS } from '@chaos-lab/model';
import { GROUP_COORDINATOR_BROKER } from './group.js';
import type { OffsetSnapshot } from './offsets.js';
import { instanceIds } from '../instances/instance-id.js';
import { secondsLeft, withCountdown } from '../progress.js';

export { GROUP_COORDINATOR_BROKER } from './group.js';

/**
 * How long a (re)started instance may take to join its group: in CI, four suites on two cores, a member
 * restarted by kafka-faults' rolling restart needed over 30 s of mock-broker rebalances (seed 3).
 */
const INSTANCE_READY_TIMEOUT_MS = 60_000;
/** How long the group may take to settle before a seed (waitForBalancedGroup's own default). */
const GROUP_SETTLE_TIMEOUT_MS = 60_000;
/** How long the lab's output observer and input log may take to join their groups (their readers' default). */
const READERS_JOIN_TIMEOUT_MS = 30_000;
/** How long Prometheus may take to scrape each target of a job once (it starts a new one within ~5 s). */
const SCRAPED_TIMEOUT_MS = 20_000;
export type { OffsetSnapshot } from './offsets.js';

export interface SessionOptions {
  readonly coordinatorEntry: string;
  readonly variant?: string;
  /** The suite's folder; this session's server and instance logs go to `<dir>/<logName>`. */
  readonly dir: string;
  readonly logName: string;
  readonly topics: Topics;
  readonly topicPrefix: string;
  readonly partitions: number;
  readonly groupId: string;
  readonly provider: ProviderName;
  readonly progress: (line: string) => void;
  /** Run the instances under libfaketime (the suite plans clock-skew faults). Default false. */
  readonly clockControl?: boolean;
}

export class SuiteSession {
  private stopping: Promise<(number | null)[]> | undefined;

  private constructor(
    readonly env: StartedEnvironment,
    readonly instances: CoordinatorInstances,
    private readonly admin: Admin,
    readonly logDir: string,
    readonly topics: Topics,
    readonly partitions: number,
    readonly environmentStartupMs: number,
    /** From the environment being up to every instance answering /readyz. */
    readonly instancesStartMs: number,
    /** The coordinators' consumer group. */
    readonly groupId: string,
    /** Reads the output topics for the whole session; each seed attaches its history. */
    readonly observer: OutputObserver,
    /** Reads the input topics for the whole session: what the broker really stored. */
    readonly inputLog: InputLog,
    /** The lab's live metrics (fault windows, the running seed) for the environment's Prometheus. */
    readonly labMetrics: LabMetricsServer,
  ) {}

  /**
   * Points the environment's Prometheus at the instances where they listen now (a restart may move one) and waits
   * until it has scraped them: Prometheus hands discovered targets to its scrapers at most every 5 s, so a seed
   * that started right after a change would begin without metrics. A Prometheus that does not get there is
   * reported, not fatal: the verdicts do not depend on it, only the report's charts.
   */
  async publishTargets(progress?: (line: string) => void): Promise<void> {
    await publishCoordinatorTargets(this.env, this.instances, progress);
  }

  static async open(def: CompiledScenario, o: SessionOptions): Promise<SuiteSession> {
    const logDir = join(o.dir, o.logName);
    const env = await startEnvironment({ logDir, provider: o.provider });
    let instances: CoordinatorInstances | undefined;
    let admin: Admin | undefined;
    let observer: OutputObserver | undefined;
    let inputLog: InputLog | undefined;
    let labMetrics: LabMetricsServer | undefined;
    try {
      o.progress(
        `lab: environment up in ${env.startupMs.toFixed(0)} ms (redis ${env.redis.port}, postgres ${env.postgres.port}, kafka ${env.kafka.bootstrapServers.join(',')})`,
      );
      for (const topic of inputTopics(o.topics)) await env.kafka.createTopic(topic, o.partitions);
      for (const topic of outputTopics(o.topics)) await env.kafka.createTopic(topic, 3);
      // The groups' coordinator is pinned to the first broker, so a suite knows which broker a
      // broker-down fault may take without taking the group coordinator (see kafka-faults).
      await env.kafka.coordinatorPins?.setCoordinator('group', o.groupId, GROUP_COORDINATOR_BROKER);
      await env.kafka.coordinatorPins?.setCoordinator('group', `lab-observer-${o.groupId}`, GROUP_COORDINATOR_BROKER);
      await env.kafka.coordinatorPins?.setCoordinator('group', `lab-input-log-${o.groupId}`, GROUP_COORDINATOR_BROKER);
      // Every instance reaches Redis and Postgres through its own proxies, so one can be cut off alone.
      const tInstances = performance.now();
      const ids = instanceIds(def.instances);
      const linked: Record<string, string>[] = [];
      for (const id of ids) {
        const l = await env.links.create(id);
        linked.push({ COORDINATOR_REDIS_URL: l.redisUrl, COORDINATOR_POSTGRES_URL: l.postgresUrl });
      }
      const started = CoordinatorInstances.start({
        entry: o.coordinatorEntry,
        count: ids.length,
        clockControl: o.clockControl ?? false,
        readyTimeoutMs: INSTANCE_READY_TIMEOUT_MS,
        logDir,
        ...(env.workDir && { recordIn: env.workDir }),
        envFor: (i) => linked[i] ?? {},
        env: {
          ...env.coordinatorEnv(),
          COORDINATOR_TOPIC_PREFIX: o.topicPrefix,
          COORDINATOR_KAFKA_GROUP_ID: o.groupId,
          // The mock broker rebalances after (session timeout − 1 s) and needs more than ~3 s to join at all.
          COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: '4000',
          COORDINATOR_SWEEP_INTERVAL_MS: '500',
          COORDINATOR_PARKED_TTL_MS: String(PARKED_TTL_MS),
          COORDINATOR_LOG_LEVEL: process.env.LAB_COORDINATOR_LOG_LEVEL ?? 'info',
          ...def.coordinatorEnv,
          ...(o.variant !== undefined && { COORDINATOR_VARIANT: o.variant }),
        },
      });
      instances = await withCountdown(started, {
        progress: o.progress,
        boundMs: INSTANCE_READY_TIMEOUT_MS,
        line: (left) =>
          `lab: waiting for ${ids.length} coordinator instances to be ready: ${secondsLeft(left)} left of ${secondsLeft(INSTANCE_READY_TIMEOUT_MS)}`,
      });
      const instancesStartMs = performance.now() - tInstances;
      // As early as possible: Prometheus takes up to ~5 s to start scraping a new target.
      await env.prometheus?.setTargets(
        'coordinator',
        instances.all.map((x) => ({ address: `127.0.0.1:${x.httpPort}` })),
      );
      admin = new Kafka({
        clientId: 'lab-admin',
        brokers: [...env.kafka.bootstrapServers],
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      observer = new OutputObserver(env.kafka.bootstrapServers, outputTopics(o.topics), `lab-observer-${o.groupId}`);
      inputLog = new InputLog(env.kafka.bootstrapServers, inputTopics(o.topics), `lab-input-log-${o.groupId}`);
      await withCountdown(
        Promise.all([observer.start(READERS_JOIN_TIMEOUT_MS), inputLog.start(READERS_JOIN_TIMEOUT_MS)]),
        {
          progress: o.progress,
          boundMs: READERS_JOIN_TIMEOUT_MS,
          line: (left) =>
            `lab: waiting for the output observer and the input log to join their groups: ${secondsLeft(left)} left of ${secondsLeft(READERS_JOIN_TIMEOUT_MS)}`,
        },
      );
      labMetrics = await LabMetricsServer.start();
      await env.prometheus?.setTargets('lab', [{ address: labMetrics.address }]);
      const session = new SuiteSession(
        env,
        instances,
        admin,
        logDir,
        o.topics,
        o.partitions,
        env.startupMs,
        instancesStartMs,
        o.groupId,
        observer,
        inputLog,
        labMetrics,
      );
      await session.publishTargets(o.progress);
      return session;
    } catch (err) {
      await labMetrics?.stop();
      await inputLog?.stop();
      await observer?.stop();
      await admin?.disconnect().catch(() => {});
      await instances?.stop();
      await env.stop();
      throw err;
    }
  }

  /**
   * Before a seed: every instance running (a fault ends by bringing back what
   * it stopped; this is the backstop) and the consumer group settled.
   * Returns how long it took.
   */
  async ready(progress: (line: string) => void): Promise<number> {
    const t0 = performance.now();
    for (const x of this.instances.all) {
      if (!x.running) {
        progress(`lab: ${x.id} is not running before the seed; starting it`);
        await x.start();
      }
    }
    const partitions = inputTopics(this.topics).length * this.partitions;
    const settled = this.instances.waitForBalancedGroup(partitions, {
      timeoutMs: GROUP_SETTLE_TIMEOUT_MS,
      onStale: (line) => progress(`lab: ${line}`),
    });
    await withCountdown(settled, {
      progress,
      boundMs: GROUP_SETTLE_TIMEOUT_MS,
      line: (left) =>
        `lab: waiting for the consumer group to settle on ${partitions} partitions: ${secondsLeft(left)} left of ${secondsLeft(GROUP_SETTLE_TIMEOUT_MS)}`,
    }).catch((err: unknown) => {
      throw new SessionNotReadyError(`the session is not ready for a seed: ${(err as Error).message}`, err);
    });
    await this.publishTargets(progress);
    return performance.now() - t0;
  }

  /** The next offset of every partition of the given topics (where a seed's messages will start). */
  async endOffsets(topics: readonly string[]): Promise<OffsetSnapshot> {
    const snapshot = new Map<string, bigint>();
    for (const topic of topics) {
      for (const p of await this.admin.fetchTopicOffsets(topic))
        snapshot.set(`${topic}/${p.partition}`, BigInt(p.high));
    }
    return snapshot;
  }

  /**
   * Where the coordinators' group stands on each input partition: its
   * committed offset against the partition's end. Written to every seed's
   * folder: when a published input was never handled, this tells whether the
   * group committed past it or never got there.
   */
  /** When a coordinator last joined the group (epoch ms), see {@link CoordinatorInstances.lastGroupJoinMs}. */
  lastGroupJoinMs(): Promise<number | undefined> {
    return this.instances.lastGroupJoinMs();
  }

  /** Whether a running coordinator owns no partition now, see {@link CoordinatorInstances.groupRebalancing}. */
  groupRebalancing(): Promise<boolean> {
    return this.instances.groupRebalancing();
  }

  async groupProgress(
    topics: readonly string[],
    ends: OffsetSnapshot,
  ): Promise<{ partition: string; committed: string; end: string }[]> {
    const committed = await this.admin.fetchOffsets({ groupId: this.groupId, topics: [...topics] });
    return committed.flatMap((t) =>
      t.partitions.map((p) => ({
        partition: `${t.topic}/${p.partition}`,
        committed: p.offset,
        end: String(ends.get(`${t.topic}/${p.partition}`) ?? '?'),
      })),
    );
  }

  /**
   * What went wrong with the environment itself during a seed: a server the
   * lab did not stop on purpose that is no longer running. Faults restart
   * what they stop, so anything down now died on its own — a finding about
   * the test bed, not about the coordinator.
   */
  environmentProblems(): string[] {
    const problems: string[] = [];
    if (!this.env.kafka.running) {
      const why = lastLine(this.env.kafka.logFile);
      const what = this.env.provider === 'local' ? 'the Kafka mock cluster process' : 'the Kafka broker container';
      problems.push(`${what} died${why ? `: ${why}` : ''} (log: ${this.env.kafka.logFile})`);
    }
    if (!this.env.faultProxy.running)
      problems.push(this.env.provider === 'local' ? 'the fault proxy process died' : 'the Toxiproxy container died');
    return problems;
  }

  /**
   * Watches for {@link environmentProblems} (polled every 250 ms) until stopped: `broke` resolves on the first
   * problem, and `broken` says whether it has. A seed races its waits on the broker against it.
   */
  watchEnvironment(): { readonly broke: Promise<void>; readonly broken: boolean; stop(): void } {
    let broken = false;
    let timer: NodeJS.Timeout | undefined;
    const broke = new Promise<void>((resolve) => {
      timer = setInterval(() => {
        if (this.environmentProblems().length === 0) return;
        broken = true;
        clearInterval(timer);
        resolve();
      }, 250);
    });
    return {
      broke,
      get broken() {
        return broken;
      },
      stop: () => clearInterval(timer),
    };
  }

  /** Stops the instances (SIGTERM, their exit codes returned), then the environment. Idempotent. */
  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.stopping !== undefined;
  }

  close(): Promise<(number | null)[]> {
    return (this.stopping ??= (async () => {
      // Kafka clients leave their groups politely; with the broker dead that could take their whole retry budget.
      const brokerGone = !this.env.kafka.running;
      const polite = (p: Promise<unknown>) =>
        brokerGone ? Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]) : p;
      await polite(this.observer.stop());
      await polite(this.inputLog.stop());
      await polite(this.admin.disconnect().catch(() => {}));
      await this.labMetrics.stop();
      const codes = await Promise.all(this.instances.all.map((x) => x.stop()));
      await this.env.stop();
      return codes;
    })());
  }
}

function lastLine(file: string): string | undefined {
  try {
    return (
      readFileSync(file, 'utf8')
        .split('\n')
        // The host's ready line says nothing about its death (a signal leaves no line of its own).
        .filter((l) => l.trim() !== '' && !l.startsWith('{"ready":'))
        .at(-1)
    );
  } catch {
    return undefined;
  }
}

/** Sets the coordinators as the Prometheus `coordinator` targets and waits for a successful scrape of each. */
export async function publishCoordinatorTargets(
  env: StartedEnvironment,
  instances: CoordinatorInstances,
  progress?: (line: string) => void,
): Promise<void> {
  if (!env.prometheus) return;
  await env.prometheus.setTargets(
    'coordinator',
    instances.all.map((x) => ({ address: `127.0.0.1:${x.httpPort}` })),
  );
  await awaitScrapes(env, 'coordinator', instances.all.length, progress);
}

/**
 * Waits for a successful scrape of each of the `count` targets of `job`, counting down meanwhile; when they do not
 * all come, says so and goes on (the report's charts miss the start, nothing else does).
 */
export async function awaitScrapes(
  env: StartedEnvironment,
  job: string,
  count: number,
  progress?: (line: string) => void,
): Promise<void> {
  if (!env.prometheus) return;
  try {
    await withCountdown(env.prometheus.waitForTargets(job, count, SCRAPED_TIMEOUT_MS), {
      progress,
      boundMs: SCRAPED_TIMEOUT_MS,
      line: (left) =>
        `lab: waiting for Prometheus to scrape the ${count} ${job} target(s): ${secondsLeft(left)} left of ${secondsLeft(SCRAPED_TIMEOUT_MS)}`,
    });
  } catch (err) {
    progress?.(`lab: ${(err as Error).message}; the report's charts may miss the start of the run`);
  }
}
