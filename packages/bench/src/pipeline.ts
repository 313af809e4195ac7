/**
 * The pipeline measured from the outside: input events published with
 * kafkajs (or uploads through the ingest service), slot-assigned events read
 * back with their Kafka timestamps, and the coordinators' own metrics.
 *
 * Times: an assignment's time is the CreateTime of its slot-assigned event,
 * which the coordinator's outbox relay stamps when it sends the event — so
 * the bench's own consumer (which the local broker serves only every fetch
 * wait) adds nothing to what is measured.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, Partitioners, logLevel, type Consumer, type Producer } from 'kafkajs';
import pg from 'pg';
import {
  BatchRegistered,
  ContentProvisioned,
  EventType,
  SlotAssigned,
  type InputEvent,
  type Topics,
} from '@chaos-lab/contracts';
import { GROUP_COORDINATOR_BROKER, LabTimeoutError, type StartedPipelineStack } from '@chaos-lab/lab';
import { percentile, ratePerSecond } from './goals.js';
import { metricSeries, sumMetric } from './parse.js';
import type { IdleFigures } from './report.js';

export type Progress = (line: string) => void;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One batch of the workload: its id, its essays, and the contents that will fill them. */
export interface PlannedBatch {
  readonly batchId: string;
  readonly essayIds: readonly string[];
  readonly textIds: readonly string[];
}

export function planBatches(tag: string, batches: number, essays: number): PlannedBatch[] {
  return Array.from({ length: batches }, (_, b) => {
    const batchId = `${tag}-b${b}`;
    return {
      batchId,
      essayIds: Array.from({ length: essays }, (_, e) => `${batchId}-e${e}`),
      textIds: Array.from({ length: essays }, (_, e) => `${batchId}-t${e}`),
    };
  });
}

/** Contents in round-robin order across batches (essay 0 of every batch, then essay 1, …), as uploads interleave. */
export function interleave(plan: readonly PlannedBatch[]): { batchId: string; textId: string; index: number }[] {
  const out: { batchId: string; textId: string; index: number }[] = [];
  const most = Math.max(0, ...plan.map((p) => p.textIds.length));
  for (let e = 0; e < most; e++)
    for (const p of plan) {
      const t = p.textIds[e];
      if (t !== undefined) out.push({ batchId: p.batchId, textId: t, index: e });
    }
  return out;
}

function envelope(type: EventType, data: unknown) {
  return {
    event_id: randomUUID(),
    event_type: type,
    correlation_id: randomUUID(),
    occurred_at: new Date().toISOString(),
    data,
  };
}

export function registrationEvent(p: PlannedBatch): InputEvent {
  return BatchRegistered.parse(
    envelope(EventType.BatchRegistered, { batch_id: p.batchId, essay_ids: [...p.essayIds] }),
  );
}

export function contentEvent(batchId: string, textId: string, index: number): InputEvent {
  return ContentProvisioned.parse(
    envelope(EventType.ContentProvisioned, {
      batch_id: batchId,
      text_storage_id: textId,
      original_file_name: `essay-${index}.txt`,
    }),
  );
}

/** kafkajs producer and slot-assigned reader on one stack's broker. */
export class PipelineClient {
  private constructor(
    private readonly stack: StartedPipelineStack,
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    /** text_storage_id → when its slot-assigned event was created (relay's send) and seen here. */
    readonly assigned: Map<string, { readonly createdAt: number; readonly seenAt: number }>,
  ) {}

  static async start(stack: StartedPipelineStack, progress: Progress): Promise<PipelineClient> {
    const kafka = new Kafka({
      clientId: 'bench',
      brokers: [...stack.env.endpoints.kafkaBrokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const groupId = `bench-watch-${randomUUID()}`;
    await stack.env.kafka.coordinatorPins?.setCoordinator('group', groupId, GROUP_COORDINATOR_BROKER);
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, sessionTimeout: 10_000 });
    const assigned = new Map<string, { createdAt: number; seenAt: number }>();
    const client = new PipelineClient(stack, producer, consumer, assigned);
    try {
      await producer.connect();
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.connect();
      await consumer.subscribe({ topics: [stack.topics.slotAssigned], fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          const seenAt = Date.now();
          for (const m of batch.messages) {
            let e: ReturnType<typeof SlotAssigned.safeParse>;
            try {
              e = SlotAssigned.safeParse(JSON.parse(m.value?.toString('utf8') ?? ''));
            } catch {
              continue;
            }
            if (!e.success || assigned.has(e.data.data.text_storage_id)) continue;
            assigned.set(e.data.data.text_storage_id, { createdAt: Number(m.timestamp), seenAt });
          }
        },
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        joined,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new LabTimeoutError('the bench reader joining its group', 30_000)), 30_000);
        }),
      ]).finally(() => clearTimeout(timer));
      progress('bench: reader of slot-assigned events joined');
      return client;
    } catch (err) {
      await client.stop();
      throw err;
    }
  }

  get topics(): Topics {
    return this.stack.topics;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.consumer.disconnect(), this.producer.disconnect()]);
  }

  /** Sends events in batches of `chunk`, each batch awaited (acks from all replicas, as the ingest sends). */
  async publish(events: readonly InputEvent[], chunk = 500): Promise<void> {
    for (let i = 0; i < events.length; i += chunk) await this.send(events.slice(i, i + chunk));
  }

  send(events: readonly InputEvent[]): Promise<unknown> {
    const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
    for (const e of events) {
      const topic =
        e.event_type === EventType.BatchRegistered ? this.topics.batchRegistered : this.topics.contentProvisioned;
      const list = byTopic.get(topic) ?? [];
      list.push({ key: e.data.batch_id, value: JSON.stringify(e), headers: { event_id: e.event_id } });
      byTopic.set(topic, list);
    }
    return this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }

  /** Waits until every id in `textIds` has a slot-assigned event; throws after `timeoutMs` naming how many are missing. */
  async waitAssigned(textIds: readonly string[], timeoutMs: number, what: string, progress: Progress): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastReport = Date.now();
    for (;;) {
      const done = textIds.reduce((n, id) => n + (this.assigned.has(id) ? 1 : 0), 0);
      if (done === textIds.length) return;
      if (Date.now() > deadline)
        throw new LabTimeoutError(
          `${what}: ${textIds.length - done} of ${textIds.length} contents unassigned`,
          timeoutMs,
        );
      if (Date.now() - lastReport > 3000) {
        lastReport = Date.now();
        progress(`bench:   ${what}: ${done}/${textIds.length} assigned`);
      }
      await sleep(50);
    }
  }

  /** CPU seconds the coordinator processes have used so far, summed (process_cpu_seconds_total). */
  async cpuSeconds(): Promise<number> {
    const texts = await Promise.all(this.stack.coordinators.all.map((c) => c.metrics()));
    return texts.reduce((n, t) => n + sumMetric(t, 'process_cpu_seconds_total'), 0);
  }

  /** Input events of `type` the coordinators have processed (summed over instances, from their /metrics). */
  async consumed(type: EventType): Promise<number> {
    const texts = await Promise.all(this.stack.coordinators.all.map((c) => c.metrics()));
    return texts.reduce((n, t) => n + sumMetric(t, 'coordinator_events_consumed_total', { event_type: type }), 0);
  }

  /** Publishes the registrations and waits until the coordinators have processed them all. */
  async register(plan: readonly PlannedBatch[]): Promise<void> {
    const before = await this.consumed(EventType.BatchRegistered);
    await this.publish(plan.map(registrationEvent));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const n = (await this.consumed(EventType.BatchRegistered)) - before;
      if (n >= plan.length) return;
      if (Date.now() > deadline) throw new LabTimeoutError(`registrations: ${n} of ${plan.length} processed`, 60_000);
      await sleep(100);
    }
  }

  createdTimes(textIds: readonly string[]): number[] {
    return textIds.map((id) => this.assigned.get(id)?.createdAt ?? NaN).filter((t) => Number.isFinite(t));
  }
}

export interface SaturationResult {
  readonly contents: number;
  readonly batches: number;
  readonly essaysPerBatch: number;
  /** Seconds to publish the backlog (it must be much shorter than the assignment span). */
  readonly publishSeconds: number;
  /** Seconds from the first to the last slot-assigned event. */
  readonly spanSeconds: number;
  /** Assignments per second over that span. */
  readonly perSecond: number;
  /** CPU the coordinator processes used per assignment, from the backlog's publication to its last assignment. */
  readonly cpuMsPerAssignment: number;
}

/**
 * Saturation: register every batch and wait until all are processed (so no
 * content is parked), then publish the whole backlog of contents at once and
 * measure assignments per second from the first to the last slot-assigned
 * event.
 */
export async function saturation(
  client: PipelineClient,
  tag: string,
  batches: number,
  essays: number,
  progress: Progress,
): Promise<SaturationResult> {
  const plan = planBatches(tag, batches, essays);
  await client.register(plan);
  const contents = interleave(plan).map((c) => contentEvent(c.batchId, c.textId, c.index));
  const cpu0 = await client.cpuSeconds();
  const t0 = performance.now();
  await client.publish(contents);
  const publishSeconds = (performance.now() - t0) / 1000;
  const ids = plan.flatMap((p) => p.textIds);
  return measureBacklog(client, { ids, batches, essays, cpu0, publishSeconds }, `saturation ${tag}`, progress);
}

/** Waits until every content of a published backlog is assigned, and measures the span, the rate and the CPU. */
async function measureBacklog(
  client: PipelineClient,
  b: { ids: string[]; batches: number; essays: number; cpu0: number; publishSeconds: number },
  what: string,
  progress: Progress,
): Promise<SaturationResult> {
  await client.waitAssigned(b.ids, 180_000, what, progress);
  const cpu1 = await client.cpuSeconds();
  const times = client.createdTimes(b.ids);
  return {
    contents: b.ids.length,
    batches: b.batches,
    essaysPerBatch: b.essays,
    publishSeconds: b.publishSeconds,
    spanSeconds: (Math.max(...times) - Math.min(...times)) / 1000,
    perSecond: ratePerSecond(times),
    cpuMsPerAssignment: ((cpu1 - b.cpu0) * 1000) / b.ids.length,
  };
}

export interface LatencyResult {
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly contents: number;
  readonly seconds: number;
  /**
   * From the last publish to the last assignment: near zero when the pipeline kept up with the
   * rate, the queue it built up when it did not.
   */
  readonly drainMs: number;
  /** Publish (send call) → slot-assigned event created by the relay. */
  readonly e2e: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  /** Publish → slot-assigned event read by the bench (adds the bench reader's fetch wait). */
  readonly e2eSeen: { readonly p50Ms: number; readonly p99Ms: number };
  /** Publish (send call) → the broker's acknowledgement: the bench's own producer and the broker, not the service. */
  readonly acked: { readonly p50Ms: number; readonly p99Ms: number };
  /** The coordinators' coordinator_assignment_duration_seconds over the paced window, via Prometheus. */
  readonly coordinator: { readonly p50Ms: number; readonly p99Ms: number; readonly query: string } | undefined;
  /** text_storage_id → when it was published (ms since the epoch). */
  readonly sentAt: ReadonlyMap<string, number>;
}

/**
 * Latency at a paced rate: contents published on a fixed schedule (`rate`
 * per second for `seconds`), each with its send time recorded; then the
 * end-to-end percentiles and the coordinators' own histogram over the window.
 */
export async function paced(
  stack: StartedPipelineStack,
  client: PipelineClient,
  tag: string,
  rate: number,
  seconds: number,
  essays: number,
  progress: Progress,
): Promise<LatencyResult> {
  const total = Math.max(essays, Math.round(rate * seconds));
  const plan = planBatches(tag, Math.ceil(total / essays), essays);
  await client.register(plan);
  const order = interleave(plan).slice(0, total);
  const events = order.map((c) => contentEvent(c.batchId, c.textId, c.index));
  const sentAt = new Map<string, number>();
  const sends: Promise<unknown>[] = [];
  const acked: number[] = [];
  const windowStart = Date.now() - 1500; // a scrape before the first content, none of the previous phase after it
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    if (due > sent) {
      const now = Date.now();
      for (let i = sent; i < due; i++) sentAt.set(order[i]!.textId, now);
      const n = due - sent;
      sends.push(
        client.send(events.slice(sent, due)).then(() => acked.push(...Array<number>(n).fill(Date.now() - now))),
      );
      sent = due;
    }
    await sleep(2);
  }
  const pubSeconds = (performance.now() - t0) / 1000;
  const lastPublish = Date.now();
  await Promise.all(sends);
  const ids = order.map((o) => o.textId);
  await client.waitAssigned(ids, 120_000, `paced ${tag}`, progress);
  const lat: number[] = [];
  const seen: number[] = [];
  for (const id of ids) {
    const a = client.assigned.get(id)!;
    const s = sentAt.get(id)!;
    lat.push(a.createdAt - s);
    seen.push(a.seenAt - s);
  }
  const windowEnd = Math.max(...client.createdTimes(ids));
  return {
    targetRate: rate,
    achievedRate: total / pubSeconds,
    contents: total,
    seconds: pubSeconds,
    drainMs: Math.max(0, windowEnd - lastPublish),
    e2e: { p50Ms: percentile(lat, 0.5), p99Ms: percentile(lat, 0.99), maxMs: Math.max(...lat) },
    e2eSeen: { p50Ms: percentile(seen, 0.5), p99Ms: percentile(seen, 0.99) },
    acked: { p50Ms: percentile(acked, 0.5), p99Ms: percentile(acked, 0.99) },
    coordinator: await histogramQuantiles(stack, windowStart, windowEnd),
    sentAt,
  };
}

/**
 * A paced run's delay split at the commit, from the outbox rows of its slot-assigned events: publish → the
 * assignment's transaction (the row's `created_at`, the transaction's start), and that → the relay's send
 * (`published_at`, set in the relay's transaction after the broker acknowledged). The consumer owns the
 * first part, the relay the second. Same machine, so one clock.
 */
export async function outputDelays(
  stack: StartedPipelineStack,
  run: Pick<LatencyResult, 'sentAt'>,
): Promise<{ committed: { p50Ms: number; p99Ms: number }; relayed: { p50Ms: number; p99Ms: number } }> {
  const db = new pg.Client({ connectionString: stack.env.endpoints.postgresUrl });
  await db.connect();
  try {
    const r = await db.query<{ id: string; created: number; published: number | null }>(
      `SELECT payload->'data'->>'text_storage_id' AS id, extract(epoch FROM created_at) * 1000 AS created,
              extract(epoch FROM published_at) * 1000 AS published
         FROM outbox WHERE topic = $1 AND payload->'data'->>'text_storage_id' = ANY($2::text[])`,
      [stack.topics.slotAssigned, [...run.sentAt.keys()]],
    );
    const committed: number[] = [];
    const relayed: number[] = [];
    for (const row of r.rows) {
      const sent = run.sentAt.get(row.id);
      if (sent === undefined) continue;
      committed.push(Number(row.created) - sent);
      if (row.published !== null) relayed.push(Number(row.published) - Number(row.created));
    }
    const q = (xs: number[]) => ({ p50Ms: percentile(xs, 0.5), p99Ms: percentile(xs, 0.99) });
    return { committed: q(committed), relayed: q(relayed) };
  } finally {
    await db.end();
  }
}

/**
 * p50 and p99 of the coordinators' assignment histogram between two times,
 * from the stack's Prometheus: the increase of every bucket over the window,
 * summed over instances, then histogram_quantile (linear interpolation inside
 * a bucket: the figure is only as fine as the buckets, 5 / 10 / 25 ms here).
 */
export async function histogramQuantiles(
  stack: StartedPipelineStack,
  startMs: number,
  endMs: number,
): Promise<LatencyResult['coordinator']> {
  const prom = stack.env.prometheus;
  if (!prom) return undefined;
  // The scrape interval is 1 s: wait for one scrape after the last assignment.
  const at = endMs + 2500;
  if (Date.now() < at) await sleep(at - Date.now());
  const range = Math.ceil((at - startMs) / 1000);
  const q = (p: number) =>
    `histogram_quantile(${p}, sum by (le) (increase(coordinator_assignment_duration_seconds_bucket[${range}s])))`;
  const one = async (p: number) => {
    const r = await prom.query(q(p), at);
    const v = Number(r[0]?.value[1]);
    return Number.isFinite(v) ? v * 1000 : NaN;
  };
  return { p50Ms: await one(0.5), p99Ms: await one(0.99), query: q(0.99) };
}

export interface HttpResult extends SaturationResult {
  /** Upload requests answered per second (202s), from the first request to the last reply. */
  readonly requestsPerSecond: number;
  readonly concurrency: number;
}

async function inParallel<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  if (r.status !== 202) throw new Error(`POST ${url} answered ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * The same saturation run through the ingest service's HTTP API: register
 * every batch (POST /v1/batches), wait until the coordinators processed the
 * registrations, then upload every content (POST /v1/batches/:id/contents,
 * `concurrency` requests in flight) and measure assignments per second as
 * above. The text_storage_id of each upload comes back in its reply.
 */
export async function httpSaturation(
  stack: StartedPipelineStack,
  client: PipelineClient,
  tag: string,
  batches: number,
  essays: number,
  concurrency: number,
  progress: Progress,
): Promise<HttpResult> {
  const plan = planBatches(tag, batches, essays);
  const before = await client.consumed(EventType.BatchRegistered);
  await inParallel(plan, concurrency, async (p) => {
    await postJson(`${stack.ingestUrl}/v1/batches`, { batch_id: p.batchId, essay_ids: p.essayIds });
  });
  const deadline = Date.now() + 60_000;
  while ((await client.consumed(EventType.BatchRegistered)) - before < plan.length) {
    if (Date.now() > deadline) throw new LabTimeoutError('registrations through ingest', 60_000);
    await sleep(100);
  }
  const text = 'An essay of about a kilobyte. '.repeat(34);
  const uploads = interleave(plan);
  const ids: string[] = [];
  const cpu0 = await client.cpuSeconds();
  const t0 = performance.now();
  await inParallel(uploads, concurrency, async (u) => {
    const r = await postJson(`${stack.ingestUrl}/v1/batches/${u.batchId}/contents`, {
      original_file_name: `essay-${u.index}.txt`,
      text,
    });
    if (r.outcome !== 'provisioned' || typeof r.text_storage_id !== 'string')
      throw new Error(`upload to ${u.batchId} answered ${JSON.stringify(r)}`);
    ids.push(r.text_storage_id);
  });
  const publishSeconds = (performance.now() - t0) / 1000;
  return {
    ...(await measureBacklog(client, { ids, batches, essays, cpu0, publishSeconds }, `http ${tag}`, progress)),
    requestsPerSecond: uploads.length / publishSeconds,
    concurrency,
  };
}

export interface MemoryResult {
  readonly essaysPerBatch: number;
  readonly batches: number;
  readonly contents: number;
  readonly perSecond: number;
  readonly perInstance: readonly {
    readonly pid: number | undefined;
    readonly rssBytes: number;
    readonly heapUsedBytes: number;
  }[];
}

/** Each instance's resident set and V8 heap in use, read from its /metrics. */
export async function memoryOf(stack: StartedPipelineStack): Promise<MemoryResult['perInstance']> {
  return Promise.all(
    stack.coordinators.all.map(async (c) => {
      const t = await c.metrics();
      return {
        pid: c.pid,
        rssBytes: sumMetric(t, 'process_resident_memory_bytes'),
        heapUsedBytes: sumMetric(t, 'nodejs_heap_size_used_bytes'),
      };
    }),
  );
}

/**
 * What the instances do with no work: over `seconds` with no input at all, each instance's CPU and its calls to
 * its dependencies per second (its own coordinator_dependency_duration_seconds_count, and
 * coordinator_kafka_requests_total where the build has it), and the servers' own counters (Redis commands,
 * Postgres transactions) for all instances together — less the bench's own reads of them.
 */
export async function idleFigures(stack: StartedPipelineStack, seconds: number): Promise<IdleFigures> {
  const redis = new Redis(stack.env.endpoints.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const pgClient = new pg.Client({ connectionString: stack.env.endpoints.postgresUrl });
  try {
    await redis.connect();
    await pgClient.connect();
    const redisCommands = async () => {
      const m = /total_commands_processed:(\d+)/.exec(await redis.info('stats'));
      if (!m) throw new Error('redis INFO stats has no total_commands_processed');
      return Number(m[1]);
    };
    const pgTransactions = async () => {
      // Flush this backend's own counts first; the instances' backends flush theirs at least once a second while busy.
      await pgClient.query('SELECT pg_stat_force_next_flush()');
      const r = await pgClient.query<{ n: string }>(
        'SELECT sum(xact_commit + xact_rollback)::text AS n FROM pg_stat_database',
      );
      return Number(r.rows[0]?.n ?? NaN);
    };
    const sample = async () => {
      const texts = await Promise.all(stack.coordinators.all.map((c) => c.metrics()));
      return {
        at: performance.now(),
        cpu: texts.map((t) => sumMetric(t, 'process_cpu_seconds_total')),
        calls: texts.map((t) => {
          const m = metricSeries(t, 'coordinator_dependency_duration_seconds_count', ['dependency', 'operation']);
          for (const [k, v] of metricSeries(t, 'coordinator_kafka_requests_total', ['component', 'api']))
            m.set(`kafka ${k}`, v);
          return m;
        }),
        redis: await redisCommands(),
        pg: await pgTransactions(),
      };
    };
    const a = await sample();
    await sleep(seconds * 1000);
    const b = await sample();
    const s = (b.at - a.at) / 1000;
    return {
      seconds: s,
      perInstance: b.cpu.map((cpu, i) => {
        const callsPerSecond: Record<string, number> = {};
        for (const [k, v] of b.calls[i]!) callsPerSecond[k] = (v - (a.calls[i]!.get(k) ?? 0)) / s;
        return { cpuMsPerSecond: ((cpu - a.cpu[i]!) * 1000) / s, callsPerSecond };
      }),
      // The bench's own: one INFO per sample; two statements per sample (their transactions).
      redisCommandsPerSecond: (b.redis - a.redis - 1) / s,
      postgresTransactionsPerSecond: (b.pg - a.pg - 2) / s,
    };
  } finally {
    redis.disconnect();
    await pgClient.end().catch(() => {});
  }
}
