/**
 * One output the broker refuses must not stop every output behind it. The
 * relay claims the oldest unpublished rows first; a row that can never be
 * published was claimed first by every pass, for ever. A real broker refuses
 * a message over its `message.max.bytes`; the lab's broker accepts any size,
 * so the relay holds outputs to the limit itself
 * (`COORDINATOR_KAFKA_MAX_MESSAGE_BYTES`), measured as a broker does: after
 * gzip compression. Here the relay is given a small limit, and the broker is
 * made to refuse a row; each such row must be set aside with its reason
 * (row, metric, log line) while the rows behind it are published; and a
 * `batch.ready` of the contract's maximum (10,000 essays) must reach its
 * consumers in a record batch that a real broker accepts.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { CompressionCodecs, CompressionTypes, Kafka, logLevel, type Consumer } from 'kafkajs';
import pg from 'pg';
import {
  BatchReady,
  EventType,
  KAFKA_MESSAGE_MAX_BYTES,
  OutputEvent,
  inputTopics,
  outputTopics,
  topics,
  type Topics,
} from '@chaos-lab/contracts';
import { CoordinatorInstances, requireKafkaControl, startEnvironment, type StartedEnvironment } from '@chaos-lab/lab';
import { envelope } from '../../testing/envelope.js';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'main.js');
const SET_ASIDE = 'outbox row set aside: it will not be published';
/** The record batch header, which a broker counts with the records against `message.max.bytes`. */
const BATCH_HEADER_BYTES = 61;

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** A file name of `n` random characters ending in `.txt`: about as incompressible as file names get. */
const fileName = (n: number) => `${Array.from(randomBytes(n - 4), (b) => ALNUM[b % ALNUM.length]).join('')}.txt`;

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

interface OutboxState {
  id: string;
  event_id: string;
  published_at: Date | null;
  set_aside_at: Date | null;
  set_aside_reason: string | null;
  publish_attempts: number;
}

/** Sends input events, keyed by batch, in sends of at most 500. */
async function send(kafka: Kafka, topic: string, messages: { key: string; value: string }[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({ topic, messages: messages.slice(i, i + 500), compression: CompressionTypes.GZIP });
  } finally {
    await producer.disconnect();
  }
}

/** Registers a batch of `n` essays and provides content for each: the batch closes with a batch.ready. */
async function fillBatch(kafka: Kafka, t: Topics, batchId: string, essayIds: string[]): Promise<void> {
  await send(kafka, t.batchRegistered, [
    { key: batchId, value: envelope(EventType.BatchRegistered, { batch_id: batchId, essay_ids: essayIds }) },
  ]);
  await send(
    kafka,
    t.contentProvisioned,
    essayIds.map(() => ({
      key: batchId,
      value: envelope(EventType.ContentProvisioned, {
        batch_id: batchId,
        text_storage_id: randomUUID(),
        original_file_name: fileName(40),
      }),
    })),
  );
}

/** Reads the output topics from the beginning into `seen`. */
async function reader(kafka: Kafka, t: Topics, seen: { event: OutputEvent; bytes: number }[]): Promise<Consumer> {
  const c = kafka.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 100, maxBytesPerPartition: 8 << 20 });
  await c.connect();
  await c.subscribe({ topics: [t.batchReady, t.slotAssigned], fromBeginning: true });
  await c.run({
    eachMessage: async ({ message }) => {
      const value = message.value?.toString('utf8') ?? '';
      seen.push({ event: OutputEvent.parse(JSON.parse(value)), bytes: message.value?.length ?? 0 });
    },
  });
  return c;
}

async function setUp(env: StartedEnvironment, prefix: string): Promise<Topics> {
  const t = topics(prefix);
  for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, 2);
  for (const topic of outputTopics(t)) await env.kafka.createTopic(topic, 1);
  return t;
}

const readyOf = <T extends { event: OutputEvent }>(seen: T[], batchId: string): T[] =>
  seen.filter((s) => s.event.event_type === EventType.BatchReady && s.event.data.batch_id === batchId);

describe('outbox rows the broker refuses', () => {
  it('sets aside a row over the relay limit, once, and publishes the rows behind it', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'relay-too-large-'));
    try {
      await using env = await startEnvironment({ logDir, prometheus: false });
      const prefix = 'relay-big.';
      const t = await setUp(env, prefix);
      await using instances = await CoordinatorInstances.start({
        entry,
        count: 1,
        logDir,
        env: {
          ...env.coordinatorEnv(),
          COORDINATOR_TOPIC_PREFIX: prefix,
          COORDINATOR_KAFKA_MAX_MESSAGE_BYTES: '16384',
        },
      });
      const x = instances.get(0);
      const kafka = new Kafka({ brokers: [...env.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING });
      const seen: { event: OutputEvent; bytes: number }[] = [];
      const consumer = await reader(kafka, t, seen);
      try {
        // 400 essays with random ids and names: a batch.ready of ≈ 50 KB, ≈ 30 KB compressed, over 16 KiB.
        const big = 'relay-big';
        await fillBatch(
          kafka,
          t,
          big,
          Array.from({ length: 400 }, () => randomBytes(10).toString('hex')),
        );
        const [bigRow] = await until('the big batch.ready in the outbox', 30_000, async () => {
          const rows = await query<OutboxState>(
            env.endpoints.postgresUrl,
            'SELECT * FROM outbox WHERE topic = $1 AND message_key = $2',
            [t.batchReady, big],
          );
          return rows.length > 0 ? rows : undefined;
        });

        // Work behind it: a batch whose events are enqueued after the big row.
        const behind = 'relay-behind';
        await fillBatch(kafka, t, behind, ['e1', 'e2']);
        await until('the batch.ready behind the big one', 20_000, async () =>
          readyOf(seen, behind).length > 0 ? true : undefined,
        );
        const behindRows = await query<OutboxState>(
          env.endpoints.postgresUrl,
          'SELECT * FROM outbox WHERE message_key = $1',
          [behind],
        );
        expect(behindRows).toHaveLength(3);
        expect(behindRows.every((r) => BigInt(r.id) > BigInt(bigRow!.id) && r.published_at !== null)).toBe(true);

        // Passes go on every 100 ms: it must stay set aside, logged and counted once, and never be sent.
        await new Promise((r) => setTimeout(r, 1500));
        const [row] = await query<OutboxState>(env.endpoints.postgresUrl, 'SELECT * FROM outbox WHERE id = $1', [
          bigRow!.id,
        ]);
        expect(row).toMatchObject({ published_at: null, publish_attempts: 0 });
        expect(row!.set_aside_at).not.toBeNull();
        expect(row!.set_aside_reason).toMatch(
          /^too_large: \d+ bytes gzip-compressed with its key and framing, over the broker's limit of 16384 \(message\.max\.bytes\)$/,
        );
        expect(readyOf(seen, big)).toHaveLength(0);
        const assigned = seen.filter((s) => s.event.event_type === EventType.SlotAssigned);
        expect(new Set(assigned.map((s) => s.event.event_id)).size).toBe(402);

        const metrics = await x.metrics();
        expect(metric(metrics, 'coordinator_outbox_set_aside_total', 'reason="too_large"')).toBe(1);
        expect(metric(metrics, 'coordinator_outbox_set_aside_rows')).toBe(1);
        expect(metric(metrics, 'coordinator_dependency_errors_total', 'operation="produce"') ?? 0).toBe(0);
        const logged = readFileSync(x.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes(SET_ASIDE))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(logged).toHaveLength(1);
        expect(logged[0]).toMatchObject({
          level: 50,
          eventId: row!.event_id,
          topic: t.batchReady,
          messageKey: big,
          reason: 'too_large',
          limit: 16_384,
        });
      } finally {
        await consumer.disconnect();
      }
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('sets aside a row the broker refuses non-retriably after a few attempts; retriable errors are retried', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'relay-refused-'));
    try {
      await using env = await startEnvironment({ logDir, prometheus: false });
      const prefix = 'relay-refused.';
      const t = await setUp(env, prefix);
      await using instances = await CoordinatorInstances.start({
        entry,
        count: 1,
        logDir,
        env: { ...env.coordinatorEnv(), COORDINATOR_TOPIC_PREFIX: prefix },
      });
      const x = instances.get(0);
      const kafka = new Kafka({ brokers: [...env.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING });
      const seen: { event: OutputEvent; bytes: number }[] = [];
      const consumer = await reader(kafka, t, seen);
      const enqueue = async (key: string) => {
        const payload = envelope(EventType.SlotAssigned, {
          batch_id: key,
          essay_id: 'e1',
          text_storage_id: 't1',
          original_file_name: 'a.txt',
        });
        const [row] = await query<OutboxState>(
          env.endpoints.postgresUrl,
          `INSERT INTO outbox (event_id, topic, message_key, payload) VALUES ($1, $2, $3, $4) RETURNING *`,
          [(JSON.parse(payload) as { event_id: string }).event_id, t.slotAssigned, key, payload],
        );
        return row!;
      };
      const state = async (id: string) =>
        (await query<OutboxState>(env.endpoints.postgresUrl, 'SELECT * FROM outbox WHERE id = $1', [id]))[0]!;
      try {
        // The instance is idle: the next Produce requests are this row's sends, and the broker refuses them.
        await requireKafkaControl(env.kafka, 'requestErrors', env.provider).pushRequestErrors('Produce', [
          'MESSAGE_TOO_LARGE',
          'MESSAGE_TOO_LARGE',
          'MESSAGE_TOO_LARGE',
        ]);
        const refused = await enqueue('relay-refused');
        const aside = await until('the refused row set aside', 20_000, async () => {
          const s = await state(refused.id);
          // (`?? null`: a schema without the column has neither.)
          return (s.set_aside_at ?? null) !== null || s.published_at !== null ? s : undefined;
        });
        expect(aside).toMatchObject({ published_at: null, publish_attempts: 3 });
        expect(aside.set_aside_reason).toMatch(
          /^refused: refused by the broker 3 times, non-retriably; last: .*larger/,
        );

        // A broker in a passing state (more errors than kafkajs retries, all retriable) delays a row, never sets it aside.
        await requireKafkaControl(env.kafka, 'requestErrors', env.provider).pushRequestErrors(
          'Produce',
          Array(8).fill('NOT_LEADER_OR_FOLLOWER'),
        );
        const delayed = await enqueue('relay-delayed');
        const published = await until('the delayed row published', 60_000, async () => {
          const s = await state(delayed.id);
          return s.published_at !== null || (s.set_aside_at ?? null) !== null ? s : undefined;
        });
        expect(published).toMatchObject({ set_aside_at: null, publish_attempts: 0 });

        // And the work behind both flows.
        await fillBatch(kafka, t, 'relay-behind', ['e1']);
        await until('the batch.ready behind', 20_000, async () =>
          readyOf(seen, 'relay-behind').length > 0 ? true : undefined,
        );
        expect(await state(refused.id)).toMatchObject({ published_at: null, publish_attempts: 3 });
        const metrics = await x.metrics();
        expect(metric(metrics, 'coordinator_outbox_set_aside_total', 'reason="refused"')).toBe(1);
        const logged = readFileSync(x.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes(SET_ASIDE))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(logged).toEqual([
          expect.objectContaining({ eventId: refused.event_id, reason: 'refused', attempts: 3 }),
        ]);
      } finally {
        await consumer.disconnect();
      }
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 150_000);
});

describe('a batch at the contract maximum', () => {
  it('reaches the consumers of its batch.ready in a record batch a real broker accepts', async () => {
    // The compressed size of each record batch the reader receives gzip-compressed (kafkajs's codec registry is
    // this process's: the coordinator, another process, is not affected).
    const gzipped: number[] = [];
    const gzip = CompressionCodecs[CompressionTypes.GZIP];
    CompressionCodecs[CompressionTypes.GZIP] = () => {
      const codec = gzip() as { compress: unknown; decompress: (b: Buffer) => Promise<Buffer> };
      return {
        compress: codec.compress,
        decompress: (b: Buffer) => {
          gzipped.push(b.length);
          return codec.decompress(b);
        },
      };
    };
    const logDir = mkdtempSync(join(tmpdir(), 'relay-maximum-'));
    try {
      await using env = await startEnvironment({ logDir, prometheus: false });
      const prefix = 'relay-max.';
      const t = await setUp(env, prefix);
      await using _instances = await CoordinatorInstances.start({
        entry,
        count: 1,
        logDir,
        env: { ...env.coordinatorEnv(), COORDINATOR_TOPIC_PREFIX: prefix },
      });
      const kafka = new Kafka({ brokers: [...env.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING });
      const seen: { event: OutputEvent; bytes: number }[] = [];
      // Only the ready topic: the record batches measured are then the ready event's.
      const consumer = kafka.consumer({ groupId: 'reader', maxWaitTimeInMs: 100, maxBytesPerPartition: 8 << 20 });
      await consumer.connect();
      await consumer.subscribe({ topics: [t.batchReady], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const value = message.value?.toString('utf8') ?? '';
          seen.push({ event: OutputEvent.parse(JSON.parse(value)), bytes: message.value?.length ?? 0 });
        },
      });
      try {
        // 10,000 essays: ids of 20 characters (a registration of them stays under the 256 KiB input limit),
        // content ids of 36 and file names of 40 random characters.
        const batchId = 'relay-maximum';
        const essayIds = Array.from({ length: 10_000 }, () => randomBytes(10).toString('hex'));
        await fillBatch(kafka, t, batchId, essayIds);
        const [ready] = await until('the maximum batch.ready', 150_000, async () => {
          const r = readyOf(seen, batchId);
          return r.length > 0 ? r : undefined;
        });
        const event = BatchReady.parse(ready!.event);
        expect(event.data.essays).toHaveLength(10_000);
        expect(event.data.essays.map((e) => e.essay_id).sort()).toEqual([...essayIds].sort());
        expect(ready!.bytes, 'the event is over the limit as JSON').toBeGreaterThan(KAFKA_MESSAGE_MAX_BYTES);
        expect(gzipped.length, 'the event travelled gzip-compressed').toBeGreaterThan(0);
        const batchBytes = BATCH_HEADER_BYTES + Math.max(...gzipped);
        expect(batchBytes).toBeLessThanOrEqual(KAFKA_MESSAGE_MAX_BYTES);
        console.log(
          `maximum batch.ready: ${ready!.bytes} bytes of JSON, a record batch of ${batchBytes} bytes gzip-compressed; limit ${KAFKA_MESSAGE_MAX_BYTES}`,
        );
      } finally {
        await consumer.disconnect();
      }
    } finally {
      CompressionCodecs[CompressionTypes.GZIP] = gzip;
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 240_000);
});
