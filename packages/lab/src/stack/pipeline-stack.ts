/**
 * The whole pipeline on the local environment, for load runs and benchmarks:
 * the environment (with its Prometheus), the topics, N coordinators and the
 * ingest service in front of them, every one a Prometheus target, and a
 * reader of the coordinators' closing events (ready / timed out) so a caller
 * can tell when each batch it sent finished and how long after its last
 * upload.
 *
 * By default the coordinators talk to Redis and Postgres directly, since a
 * load run measures the system, not the system behind a proxy; with
 * `throughFaultProxy` each goes through its own proxied links as in a chaos
 * session, so faults can be injected during a load (`stack.nemesisContext`).
 */
import { EventType, inputTopics, outputTopics, topics as topicNames, type Topics } from '@chaos-lab/contracts';
import { startEnvironment, type StartedEnvironment } from '../environment/index.js';
import { CoordinatorInstances } from '../instances/instances.js';
import { coordinatorEntry, ingestEntry } from '../scenario/main.js';
import { TopicReader } from '../scenario/topic-reader.js';
import { awaitScrapes, GROUP_COORDINATOR_BROKER, publishCoordinatorTargets } from '../scenario/session.js';
import { instanceId } from '../instances/instance-id.js';
import { InvalidArgumentError } from '../errors.js';
import { LabMetricsServer } from '../observability/lab-metrics.js';
import type { NemesisContext } from '../nemesis/types.js';
import { PARKED_TTL_MS } from '@chaos-lab/model';

export interface PipelineStackOptions {
  /** Folder for every server's and instance's log. */
  readonly logDir: string;
  /** Coordinator instances. Default 3. */
  readonly coordinators?: number;
  /** Ingest instances. Default 1. */
  readonly ingest?: number;
  /** Partitions of each input topic. Default 6. */
  readonly partitions?: number;
  /** Extra coordinator settings (COORDINATOR_*), e.g. for a benchmark. */
  readonly coordinatorEnv?: Readonly<Record<string, string>>;
  /** Route each coordinator's Redis and Postgres links through the fault proxy. Default false. */
  readonly throughFaultProxy?: boolean;
  /** Told what is happening during the start (a line each). */
  readonly progress?: (line: string) => void;
}

/** How a batch ended, seen on the output topics. */
export interface BatchClosed {
  readonly batchId: string;
  readonly status: 'ready' | 'timed_out';
  /** Epoch ms when the lab read the event. */
  readonly seenAt: number;
  readonly essays: number;
}

export interface StartedPipelineStack extends AsyncDisposable {
  readonly env: StartedEnvironment;
  readonly coordinators: CoordinatorInstances;
  readonly ingest: CoordinatorInstances;
  readonly topics: Topics;
  /** The lab's live metrics (fault windows) for the stack's Prometheus. */
  readonly labMetrics: LabMetricsServer;
  /** What the nemesis needs to inject faults into this stack. */
  readonly nemesisContext: NemesisContext;
  /** Base URL of the first ingest instance. */
  readonly ingestUrl: string;
  /** Batches closed so far, by batch id (first closing event only). */
  readonly closed: ReadonlyMap<string, BatchClosed>;
  /** Slot-assigned events seen (duplicates by event id counted once). */
  readonly assignedCount: number;
  /** Resolves once every batch id given has closed, or after `timeoutMs` (then with the ids still open). */
  waitClosed(batchIds: readonly string[], timeoutMs: number, onProgress?: (closed: number) => void): Promise<string[]>;
  stop(): Promise<void>;
}

const GROUP_ID = 'batch-coordinator';
const PREFIX = 'lab.';

export async function startPipelineStack(opts: PipelineStackOptions): Promise<StartedPipelineStack> {
  const count = opts.coordinators ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 16)
    throw new InvalidArgumentError('coordinators', count, 'an integer from 1 to 16');
  const partitions = opts.partitions ?? 6;
  const progress = opts.progress ?? (() => {});
  const t = topicNames(PREFIX);
  const coordinatorMain = coordinatorEntry();
  const ingestMain = ingestEntry();
  const env = await startEnvironment({ logDir: opts.logDir });
  let coordinators: CoordinatorInstances | undefined;
  let ingest: CoordinatorInstances | undefined;
  let reader: TopicReader | undefined;
  let labMetrics: LabMetricsServer | undefined;
  try {
    progress(`lab: environment up in ${env.startupMs.toFixed(0)} ms (prometheus ${env.prometheus?.url ?? 'off'})`);
    for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, partitions);
    for (const topic of outputTopics(t)) await env.kafka.createTopic(topic, 3);
    await env.kafka.coordinatorPins?.setCoordinator('group', GROUP_ID, GROUP_COORDINATOR_BROKER);
    await env.kafka.coordinatorPins?.setCoordinator('group', 'lab-closing-reader', GROUP_COORDINATOR_BROKER);
    const linked: Record<string, string>[] = [];
    if (opts.throughFaultProxy) {
      for (let n = 1; n <= count; n++) {
        const l = await env.links.create(instanceId(n));
        linked.push({ COORDINATOR_REDIS_URL: l.redisUrl, COORDINATOR_POSTGRES_URL: l.postgresUrl });
      }
    }
    // allSettled: when one set fails to start, the other must be there to be stopped.
    const [cs, is] = await Promise.allSettled([
      CoordinatorInstances.start({
        entry: coordinatorMain,
        count,
        logDir: opts.logDir,
        ...(env.workDir && { recordIn: env.workDir }),
        envFor: (n) => linked[n] ?? {},
        env: {
          ...env.coordinatorEnv(),
          COORDINATOR_TOPIC_PREFIX: PREFIX,
          COORDINATOR_KAFKA_GROUP_ID: GROUP_ID,
          COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: '4000',
          COORDINATOR_SWEEP_INTERVAL_MS: '500',
          COORDINATOR_PARKED_TTL_MS: String(PARKED_TTL_MS),
          COORDINATOR_LOG_LEVEL: process.env.LAB_COORDINATOR_LOG_LEVEL ?? 'warn',
          ...opts.coordinatorEnv,
        },
      }),
      CoordinatorInstances.start({
        entry: ingestMain,
        count: opts.ingest ?? 1,
        envPrefix: 'INGEST',
        idPrefix: 'ingest',
        logDir: opts.logDir,
        ...(env.workDir && { recordIn: env.workDir }),
        env: {
          INGEST_POSTGRES_URL: env.endpoints.postgresUrl,
          INGEST_KAFKA_BROKERS: env.endpoints.kafkaBrokers.join(','),
          INGEST_KAFKA_IDEMPOTENT: 'false',
          INGEST_TOPIC_PREFIX: PREFIX,
          INGEST_LOG_LEVEL: process.env.LAB_INGEST_LOG_LEVEL ?? 'warn',
        },
      }),
    ]);
    if (cs.status === 'fulfilled') coordinators = cs.value;
    if (is.status === 'fulfilled') ingest = is.value;
    if (cs.status === 'rejected') throw cs.reason;
    if (is.status === 'rejected') throw is.reason;
    const [c, i] = [cs.value, is.value];
    // As early as possible: Prometheus takes up to ~5 s to start scraping a new target; the group settles meanwhile.
    await env.prometheus?.setTargets(
      'coordinator',
      c.all.map((x) => ({ address: `127.0.0.1:${x.httpPort}` })),
    );
    await env.prometheus?.setTargets(
      'ingest',
      i.all.map((x) => ({ address: `127.0.0.1:${x.httpPort}` })),
    );
    await c.waitForBalancedGroup(inputTopics(t).length * partitions, {
      onStale: (line) => progress(`lab: ${line}`),
    });
    progress(`lab: ${count} coordinator(s) and ${i.all.length} ingest instance(s) ready, group settled`);
    const closed = new Map<string, BatchClosed>();
    const assigned = new Set<string>();
    reader = new TopicReader(
      env.kafka.bootstrapServers,
      [t.batchReady, t.batchTimedOut, t.slotAssigned],
      'lab-closing-reader',
      'lab-closing-reader',
      ({ topic, message }) => {
        let e: { event_id?: string; event_type?: string; data?: { batch_id?: string; essays?: unknown[] } };
        try {
          e = JSON.parse(message.value?.toString('utf8') ?? '') as typeof e;
        } catch {
          return;
        }
        if (topic === t.slotAssigned) {
          if (e.event_id) assigned.add(e.event_id);
          return;
        }
        const id = e.data?.batch_id;
        if (!id || closed.has(id)) return;
        closed.set(id, {
          batchId: id,
          status: e.event_type === EventType.BatchTimedOut ? 'timed_out' : 'ready',
          seenAt: Date.now(),
          essays: e.data?.essays?.length ?? 0,
        });
      },
    );
    await reader.start();
    labMetrics = await LabMetricsServer.start();
    await env.prometheus?.setTargets('lab', [{ address: labMetrics.address }]);
    // A load must not start before its metrics are being scraped (see publishCoordinatorTargets).
    await publishCoordinatorTargets(env, c, progress);
    await awaitScrapes(env, 'ingest', i.all.length, progress);
    await awaitScrapes(env, 'lab', 1, progress);
    const [r, m] = [reader, labMetrics];
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await r.stop();
        await m.stop();
        await Promise.all([i.stop(), c.stop()]);
        await env.stop();
      })());
    return {
      env,
      coordinators: c,
      ingest: i,
      topics: t,
      labMetrics: m,
      nemesisContext: { env, instances: c, links: env.links, inputTopics: inputTopics(t) },
      ingestUrl: i.get(0).url,
      closed,
      get assignedCount() {
        return assigned.size;
      },
      async waitClosed(batchIds, timeoutMs, onProgress) {
        const deadline = Date.now() + timeoutMs;
        let lastReport = Date.now();
        for (;;) {
          const open = batchIds.filter((b) => !closed.has(b));
          if (open.length === 0 || Date.now() > deadline) return open;
          if (onProgress && Date.now() - lastReport > 2000) {
            lastReport = Date.now();
            onProgress(batchIds.length - open.length);
          }
          await new Promise((res) => setTimeout(res, 100));
        }
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await labMetrics?.stop();
    await reader?.stop();
    await Promise.allSettled([coordinators?.stop(), ingest?.stop()]);
    await env.stop();
    throw err;
  }
}
