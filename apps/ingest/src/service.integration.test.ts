/**
 * The service in-process against a real PostgreSQL and the lab's Kafka (the
 * librdkafka mock cluster): what a client sends, what lands in Postgres, and
 * what the coordinator would read from Kafka. A consumer of its own reads the
 * input topics from the beginning; every event id a test expects is derived
 * independently here and compared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import pg from 'pg';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import {
  BatchRegistered,
  ContentProvisioned,
  ValidationFailedV2,
  derivedEventId,
  inputTopics,
  topics as topicNames,
} from '@chaos-lab/contracts';
import {
  createWorkDir,
  KafkaMockCluster,
  PostgresServer,
  type StartedKafkaMock,
  type StartedPostgresServer,
  type WorkDir,
} from '@chaos-lab/lab';
import type { IngestConfig } from './config.js';
import { startIngest, type RunningIngest } from './service.js';
import { PgIngestStore } from './adapters/postgres/pg-store.js';

const PREFIX = 'it.';
const t = topicNames(PREFIX);
const MAX_TEXT = 64;
const MAX_BODY = 4096;

let work: WorkDir;
let postgres: StartedPostgresServer;
let kafka: StartedKafkaMock;
let dbUrl: string;
let svc: RunningIngest;
let reader: Consumer | undefined;

interface Seen {
  topic: string;
  key: string | undefined;
  value: Record<string, unknown> & { event_id: string };
  header: string | undefined;
}
const seen: Seen[] = [];

function config(over: Partial<IngestConfig> & { brokers: string[]; prefix: string; url?: string }): IngestConfig {
  return {
    instanceId: over.instanceId ?? 'ingest-it',
    http: { host: '127.0.0.1', port: 0 },
    postgres: { url: over.url ?? dbUrl, poolSize: 4 },
    kafka: { brokers: over.brokers, clientId: 'ingest-it', idempotent: false, topicPrefix: over.prefix },
    maxTextBytes: MAX_TEXT,
    maxBodyBytes: MAX_BODY,
    outbox: { pollMs: 100, batchSize: 200 },
    logLevel: 'silent',
    shutdownTimeoutMs: 5000,
  };
}

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown>, headers: r.headers };
}

/** Waits until the reader has seen `n` messages matching `pred` (and returns them). */
async function eventually(pred: (s: Seen) => boolean, n = 1, timeoutMs = 15_000): Promise<Seen[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = seen.filter(pred);
    if (found.length >= n) return found;
    if (Date.now() > deadline) throw new Error(`saw ${found.length} of ${n} expected messages`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

beforeAll(async () => {
  work = await createWorkDir();
  [postgres, kafka] = await Promise.all([
    PostgresServer.start({ workDir: join(work.path, 'pg'), logFile: join(work.path, 'pg.log') }),
    KafkaMockCluster.start({ brokers: 3, logFile: join(work.path, 'kafka.log') }),
  ]);
  dbUrl = await postgres.createDatabase('ingest_it');
  for (const topic of inputTopics(t)) await kafka.createTopic(topic, 3);
  svc = await startIngest(config({ brokers: kafka.bootstrapServers, prefix: PREFIX }), pino({ level: 'silent' }));

  const consumer = new Kafka({ brokers: kafka.bootstrapServers, logLevel: logLevel.NOTHING }).consumer({
    groupId: 'ingest-it-reader',
    maxWaitTimeInMs: 100,
  });
  reader = consumer;
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
  await consumer.connect();
  await consumer.subscribe({ topics: inputTopics(t), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      seen.push({
        topic,
        key: message.key?.toString(),
        value: JSON.parse(message.value!.toString()) as Seen['value'],
        header: message.headers?.event_id?.toString(),
      });
    },
  });
  const deadline = Date.now() + 30_000;
  while (!joined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(joined).toBe(true);
}, 60_000);

afterAll(async () => {
  await reader?.disconnect().catch(() => {});
  await svc?.stop();
  await Promise.allSettled([kafka?.stop(), postgres?.stop()]);
  await work?.remove();
});

describe('POST /v1/batches', () => {
  it('registers a batch from a count and publishes batch.registered.v1 keyed by the batch id', async () => {
    const b = 'reg-count';
    const r = await post(svc.url, '/v1/batches', { batch_id: b, essay_count: 3, deadline: '2030-01-01T00:00:00Z' });
    const eventId = derivedEventId('ingest', 'registered', b);
    expect(r).toMatchObject({
      status: 202,
      body: { batch_id: b, event_id: eventId, essay_ids: [`${b}-e0`, `${b}-e1`, `${b}-e2`] },
    });
    const [m] = await eventually((s) => s.key === b && s.topic === t.batchRegistered);
    const event = BatchRegistered.parse(m!.value);
    expect(event.event_id).toBe(eventId);
    expect(m!.header).toBe(eventId);
    expect(event.data).toEqual({
      batch_id: b,
      essay_ids: [`${b}-e0`, `${b}-e1`, `${b}-e2`],
      deadline: '2030-01-01T00:00:00Z',
    });
    const rows = await query<{ essay_ids: string[]; deadline: Date }>(
      'SELECT essay_ids, deadline FROM ingest.batches WHERE batch_id = $1',
      [b],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.essay_ids).toEqual(event.data.essay_ids);
    expect(rows[0]!.deadline.toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });

  it('republishes the same event on a repeated registration and refuses a conflicting one', async () => {
    const b = 'reg-repeat';
    const first = await post(svc.url, '/v1/batches', {
      batch_id: b,
      essay_ids: ['x1', 'x2'],
      deadline: '2030-01-01T00:00:00Z',
    });
    // Once the event is out: a retry queued before that finds its row still unpublished and adds nothing (one
    // publish, as wanted); this test is about the retry that comes after, which must publish it again.
    await eventually((s) => s.key === b, 1);
    // The same instant written differently is the same registration.
    const again = await post(svc.url, '/v1/batches', {
      batch_id: b,
      essay_ids: ['x1', 'x2'],
      deadline: '2030-01-01T01:00:00+01:00',
    });
    expect(first.status).toBe(202);
    expect(again).toEqual({ ...first, headers: again.headers });
    const ms = await eventually((s) => s.key === b, 2);
    expect(ms).toHaveLength(2);
    expect(ms[1]!.value).toEqual(ms[0]!.value);

    const conflict = await post(svc.url, '/v1/batches', { batch_id: b, essay_ids: ['x1', 'x3'] });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ batch_id: b, differences: ['essay_ids', 'deadline'] });
    expect(conflict.body.error).toContain(b);
    expect(await query('SELECT 1 FROM ingest.batches WHERE batch_id = $1', [b])).toHaveLength(1);
    // Nothing was published for the refused request.
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.filter((s) => s.key === b)).toHaveLength(2);
  });
});

describe('POST /v1/batches/:batch_id/contents', () => {
  it('stores a content once and republishes the same event for a retry with the same Idempotency-Key', async () => {
    const b = 'content-key'; // never registered: contents may come first
    const text = 'An essay about queues.\n';
    const send = () =>
      post(svc.url, `/v1/batches/${b}/contents`, { original_file_name: 'q.txt', text }, { 'Idempotency-Key': 'k-1' });
    const first = await send();
    const tsId = `ts-${derivedEventId('ingest', 'content-key', b, 'k-1')}`;
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ outcome: 'provisioned', text_storage_id: tsId });
    // The retry after the first publish (one before it would find the row unpublished and add nothing).
    await eventually((s) => s.key === b, 1);
    const second = await send();
    expect(second.body).toEqual(first.body);

    const rows = await query<{
      batch_id: string;
      original_file_name: string;
      body: Buffer;
      byte_length: number;
      sha256: string;
    }>(
      'SELECT batch_id, original_file_name, body, byte_length, sha256 FROM ingest.contents WHERE text_storage_id = $1',
      [tsId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      batch_id: b,
      original_file_name: 'q.txt',
      byte_length: Buffer.byteLength(text),
      sha256: sha256(text),
    });
    expect(rows[0]!.body.toString('utf8')).toBe(text);

    const ms = await eventually((s) => s.key === b, 2);
    for (const m of ms) {
      expect(m.topic).toBe(t.contentProvisioned);
      const e = ContentProvisioned.parse(m.value);
      expect(e.event_id).toBe(first.body.event_id);
      expect(e.data).toEqual({ batch_id: b, text_storage_id: tsId, original_file_name: 'q.txt' });
    }
  });

  it('gives each upload without a key its own text_storage_id', async () => {
    const b = 'content-nokey';
    const a = await post(svc.url, `/v1/batches/${b}/contents`, { original_file_name: 'a.txt', text: 'same' });
    const c = await post(svc.url, `/v1/batches/${b}/contents`, { original_file_name: 'a.txt', text: 'same' });
    expect([a.status, c.status]).toEqual([202, 202]);
    expect(a.body.text_storage_id).toMatch(/^ts-[0-9a-f-]{36}$/);
    expect(a.body.text_storage_id).not.toBe(c.body.text_storage_id);
    expect(a.body.event_id).not.toBe(c.body.event_id);
    expect(await query('SELECT 1 FROM ingest.contents WHERE batch_id = $1', [b])).toHaveLength(2);
  });

  it('refuses a key reused with another text', async () => {
    const b = 'content-reuse';
    const h = { 'Idempotency-Key': 'k' };
    expect(
      (await post(svc.url, `/v1/batches/${b}/contents`, { original_file_name: 'a.txt', text: 'one' }, h)).status,
    ).toBe(202);
    const r = await post(svc.url, `/v1/batches/${b}/contents`, { original_file_name: 'a.txt', text: 'two' }, h);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({
      text_storage_id: `ts-${derivedEventId('ingest', 'content-key', b, 'k')}`,
      differences: ['text'],
    });
  });

  it.each([
    ['empty', '   \n\t '],
    ['too_large', 'x'.repeat(MAX_TEXT + 1)],
    ['contains_nul', 'before\u0000after'],
  ])(
    'publishes essay.validation.failed.v2, the upload its identity, for a text that breaks the %s rule',
    async (rule, text) => {
      const b = `invalid-${rule}`;
      const r = await post(
        svc.url,
        `/v1/batches/${b}/contents`,
        { original_file_name: `${rule}.txt`, text },
        { 'Idempotency-Key': rule },
      );
      expect(r.status).toBe(202);
      expect(r.body.outcome).toBe('validation_failed');
      expect(String(r.body.reason)).toMatch(new RegExp(`^${rule}: `));
      const tsId = `ts-${derivedEventId('ingest', 'content-key', b, rule)}`;
      expect(r.body.event_id).toBe(derivedEventId('ingest', 'validation-failed', b, tsId));
      const [m] = await eventually((s) => s.key === b);
      expect(m!.topic).toBe(t.validationFailed);
      const e = ValidationFailedV2.parse(m!.value);
      expect(e.data).toEqual({
        batch_id: b,
        upload_id: tsId,
        original_file_name: `${rule}.txt`,
        reason: r.body.reason,
      });
      // Stored byte for byte, NUL included.
      const rows = await query<{ body: Buffer; outcome: string }>(
        'SELECT body, outcome FROM ingest.contents WHERE batch_id = $1',
        [b],
      );
      expect(rows.map((x) => [x.body.toString('utf8'), x.outcome])).toEqual([[text, 'validation_failed']]);
    },
  );

  it('accepts a text exactly at the limit', async () => {
    const r = await post(svc.url, '/v1/batches/at-limit/contents', {
      original_file_name: 'a.txt',
      text: 'é'.repeat(MAX_TEXT / 2),
    });
    expect(r.body.outcome).toBe('provisioned');
  });
});

describe('malformed requests', () => {
  const cases: [string, string, string | object, Record<string, string>, number, string, string | null][] = [
    ['bad JSON', '/v1/batches', '{"batch_id": ', {}, 400, 'body', '{"batch_id": '],
    ['an empty body', '/v1/batches', '', {}, 400, 'body', ''],
    ['a missing field', '/v1/batches', { essay_count: 2 }, {}, 400, 'batch_id', null],
    ['an invalid id', '/v1/batches', { batch_id: 'a b', essay_count: 2 }, {}, 400, 'batch_id', 'a b'],
    ['an unknown field', '/v1/batches', { batch_id: 'a', essay_count: 2, colour: 'red' }, {}, 400, 'colour', 'red'],
    ['a count out of range', '/v1/batches', { batch_id: 'a', essay_count: 10_001 }, {}, 400, 'essay_count', '10001'],
    [
      'a bad deadline',
      '/v1/batches',
      { batch_id: 'a', essay_count: 1, deadline: 'tomorrow' },
      {},
      400,
      'deadline',
      'tomorrow',
    ],
    ['duplicate essay ids', '/v1/batches', { batch_id: 'a', essay_ids: ['e', 'e'] }, {}, 400, 'essay_ids', '["e","e"]'],
    [
      'both essay_ids and essay_count',
      '/v1/batches',
      { batch_id: 'a', essay_ids: ['e'], essay_count: 1 },
      {},
      400,
      'essay_ids',
      '{"essay_ids":["e"],"essay_count":1}',
    ],
    ['neither essay_ids nor essay_count', '/v1/batches', { batch_id: 'a' }, {}, 400, 'essay_ids', null],
    [
      'an invalid batch id in the path',
      '/v1/batches/a%20b/contents',
      { original_file_name: 'f', text: 't' },
      {},
      400,
      'batch_id',
      'a b',
    ],
    [
      'a text that is not a string',
      '/v1/batches/a/contents',
      { original_file_name: 'f', text: 5 },
      {},
      400,
      'text',
      '5',
    ],
    [
      'an empty file name',
      '/v1/batches/a/contents',
      { original_file_name: '', text: 't' },
      {},
      400,
      'original_file_name',
      '',
    ],
    [
      'an over-long Idempotency-Key',
      '/v1/batches/a/contents',
      { original_file_name: 'f', text: 't' },
      { 'Idempotency-Key': 'k'.repeat(201) },
      400,
      'Idempotency-Key',
      null,
    ],
    [
      'a body over the limit',
      '/v1/batches/a/contents',
      { original_file_name: 'f', text: 'x'.repeat(MAX_BODY) },
      {},
      413,
      'body',
      null,
    ],
    [
      'another content type',
      '/v1/batches',
      'batch_id=a',
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
      'content-type',
      'application/x-www-form-urlencoded',
    ],
  ];

  it.each(cases)('%s is refused naming the field', async (_name, path, body, headers, status, field, value) => {
    const r = await post(svc.url, path, body, headers);
    expect(r.status).toBe(status);
    expect(r.body.field).toBe(field);
    if (value !== null) expect(r.body.value).toBe(value);
    else if (field === 'Idempotency-Key') expect(String(r.body.value)).toContain('(201 characters)');
    else if (status === 413) expect(r.body.value).toMatch(/^\d+ bytes$/);
    expect(String(r.body.error)).toContain(field);
  });

  it('accepts a JSON content type with parameters, and refuses a JSON body that is not an object', async () => {
    const ok = await post(
      svc.url,
      '/v1/batches',
      { batch_id: 'charset', essay_count: 1 },
      {
        'content-type': 'application/json; charset=utf-8',
      },
    );
    expect(ok.status).toBe(202);
    const nul = await post(svc.url, '/v1/batches', 'null');
    expect(nul).toMatchObject({ status: 400, body: { field: 'body', value: 'null' } });
  });

  it('answers 404 on an unknown route and 405 with Allow on a wrong method', async () => {
    const nf = await fetch(`${svc.url}/v2/nothing`);
    expect(nf.status).toBe(404);
    const wrong = await fetch(`${svc.url}/v1/batches`, { method: 'GET' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    const wrong2 = await fetch(`${svc.url}/metrics`, { method: 'DELETE' });
    expect([wrong2.status, wrong2.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });
});

describe('operations', () => {
  it('is alive and ready', async () => {
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${svc.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true, problems: {} }]);
  });

  it('counts requests by route pattern, published events, and stored sizes', async () => {
    /** The value of the sample `name` whose labels include `labels` (label order does not matter), or 0. */
    const metric = async (name: string, labels: Record<string, string> = {}) => {
      const text = await (await fetch(`${svc.url}/metrics`)).text();
      for (const line of text.split('\n')) {
        const m = /^([a-z_]+)(?:\{(.*)\})? ([\d.e+-]+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (have.instance_id !== 'ingest-it') continue;
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
      }
      return 0;
    };
    const route = '/v1/batches/:batch_id/contents';
    const probes = () =>
      Promise.all([
        metric('ingest_http_requests_total', { method: 'POST', route, status: '202' }),
        metric('ingest_http_request_duration_seconds_count', { method: 'POST', route }),
        metric('ingest_events_published_total', { event_type: 'essay.content.provisioned.v1' }),
        metric('ingest_content_bytes_count'),
        metric('ingest_content_bytes_sum'),
      ]);
    const before = await probes();
    expect(
      (await post(svc.url, '/v1/batches/metrics-b/contents', { original_file_name: 'm.txt', text: 'counted' })).status,
    ).toBe(202);
    // The relay publishes after the reply: counted once the event is out.
    await eventually((s) => s.key === 'metrics-b');
    const after = await probes();
    expect(after.map((v, i) => v - before[i]!)).toEqual([1, 1, 1, 1, 'counted'.length]);
    expect(
      await metric('ingest_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }),
    ).toBeGreaterThan(0);
    expect(
      await metric('ingest_http_requests_total', { method: 'POST', route: '/v1/batches', status: '400' }),
    ).toBeGreaterThan(0);
    expect(await metric('process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('inserts uploads in flight together in shared statements, each stored and queued once', async () => {
    const groups = async () => {
      const text = await (await fetch(`${svc.url}/metrics`)).text();
      const v = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);
      return { statements: v('ingest_first_sight_group_size_count'), uploads: v('ingest_first_sight_group_size_sum') };
    };
    const b = 'grouped';
    const before = await groups();
    // Inserts wait while another transaction holds the table: the first statements block, the rest queue up.
    const lock = new pg.Client({ connectionString: dbUrl });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE ingest.contents IN SHARE ROW EXCLUSIVE MODE');
    // 60 distinct uploads, and two of one key and text at once: the pair is one content, queued once.
    const sends = [
      ...Array.from({ length: 60 }, (_, i) =>
        post(svc.url, `/v1/batches/${b}/contents`, { original_file_name: `g${i}.txt`, text: `essay ${i}` }),
      ),
      ...[1, 2].map(() =>
        post(
          svc.url,
          `/v1/batches/${b}/contents`,
          { original_file_name: 'twin.txt', text: 'twin' },
          {
            'Idempotency-Key': 'twin',
          },
        ),
      ),
    ];
    await new Promise((r) => setTimeout(r, 500));
    await lock.query('COMMIT');
    await lock.end();
    const replies = await Promise.all(sends);
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 202));
    const after = await groups();
    // Two statements blocked with one upload each, then the queue in one or two; a second twin queued while the
    // first was goes alone (and uncounted), so 61 or 62 uploads.
    expect(after.uploads - before.uploads).toBeGreaterThanOrEqual(61);
    expect(after.statements - before.statements).toBeLessThanOrEqual(5);

    const ids = new Set(replies.map((r) => r.body.text_storage_id as string));
    expect(ids.size).toBe(61);
    const rows = await query<{ text_storage_id: string; body: Buffer }>(
      'SELECT text_storage_id, body FROM ingest.contents WHERE batch_id = $1',
      [b],
    );
    expect(new Set(rows.map((r) => r.text_storage_id))).toEqual(ids);
    const byId = new Map(rows.map((r) => [r.text_storage_id, r.body.toString('utf8')]));
    replies.slice(0, 60).forEach((r, i) => expect(byId.get(r.body.text_storage_id as string)).toBe(`essay ${i}`));
    const queued = await query<{ n: number }>(`SELECT count(*)::int AS n FROM ingest.outbox WHERE message_key = $1`, [
      b,
    ]);
    expect(queued[0]!.n).toBe(61);
    await eventually((s) => s.key === b, 61);
  });

  it('applies each migration once when several instances migrate at the same moment', async () => {
    const url = await postgres.createDatabase('ingest_migrate');
    const stores = [1, 2, 3].map(() => new PgIngestStore({ url, poolSize: 1 }));
    try {
      expect((await Promise.all(stores.map((s) => s.migrate()))).flat()).toEqual([1, 2]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe('failures', () => {
  it('accepts uploads while Kafka is down and publishes them when it is back, with no client retry (bug 7)', async () => {
    // Before the outbox: 503 after the commit, and an upload whose client gave up was never announced.
    await using lonely = await KafkaMockCluster.start({ brokers: 1, logFile: join(work.path, 'kafka-lonely.log') });
    const prefix = 'down.';
    const dt = topicNames(prefix);
    for (const topic of inputTopics(dt)) await lonely.createTopic(topic, 1);
    // A database of its own: the shared service's relay would publish this outbox's rows to the healthy cluster.
    const url = await postgres.createDatabase('ingest_kafka_down');
    await using x = await startIngest(
      config({ brokers: lonely.bootstrapServers, prefix, instanceId: 'ingest-down', url }),
      pino({ level: 'silent' }),
    );
    const b = 'kafka-down';
    await lonely.setBrokerDown(1);
    const t0 = Date.now();
    const reg = await post(x.url, '/v1/batches', { batch_id: b, essay_count: 2 });
    const up = await post(x.url, `/v1/batches/${b}/contents`, { original_file_name: 'd.txt', text: 'survives' });
    expect([reg.status, up.status]).toEqual([202, 202]);
    expect(Date.now() - t0, 'the reply waited for Kafka').toBeLessThan(2000);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const queued = await db
      .query<{ event_id: string; published_at: Date | null }>(
        `SELECT event_id, published_at FROM ingest.outbox WHERE message_key = $1 ORDER BY id`,
        [b],
      )
      .then((r) => r.rows)
      .finally(() => db.end());
    expect(queued.map((q) => [q.event_id, q.published_at])).toEqual([
      [reg.body.event_id, null],
      [up.body.event_id, null],
    ]);
    const ready = await fetch(`${x.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { problems: Record<string, string> }).problems.kafka).toBeDefined();
    const metric = async (name: string) =>
      Number(
        new RegExp(`^${name}\\{instance_id="ingest-down"\\} (\\S+)$`, 'm').exec(
          await (await fetch(`${x.url}/metrics`)).text(),
        )?.[1],
      );
    expect(await metric('ingest_outbox_unpublished')).toBe(2);

    // Kafka comes back; nobody retries. A reader of the input topics sees both events.
    await lonely.setBrokerUp(1);
    const got: { topic: string; value: { event_id: string } }[] = [];
    const reader = new Kafka({ brokers: lonely.bootstrapServers, logLevel: logLevel.NOTHING }).consumer({
      groupId: 'down-reader',
      maxWaitTimeInMs: 100,
    });
    try {
      await reader.connect();
      await reader.subscribe({ topics: inputTopics(dt), fromBeginning: true });
      await reader.run({
        eachMessage: async ({ topic, message }) => {
          got.push({ topic, value: JSON.parse(message.value!.toString()) as { event_id: string } });
        },
      });
      const deadline = Date.now() + 30_000;
      while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await reader.disconnect();
    }
    expect(got.map((g) => [g.topic, g.value.event_id]).sort()).toEqual(
      [
        [dt.batchRegistered, reg.body.event_id],
        [dt.contentProvisioned, up.body.event_id],
      ].sort(),
    );
    expect(await metric('ingest_outbox_unpublished')).toBe(0);
  }, 90_000);

  it('sets aside an event refused for good, after three refusals, and the events behind it still go out', async () => {
    // A queued event that no longer passes its contract (as one over the broker's message.max.bytes, refused
    // non-retriably): the relay must not retry it in front of every later event for ever.
    const bad = { event_id: derivedEventId('it', 'bad'), event_type: 'batch.deleted.v9', data: {} };
    await query(`INSERT INTO ingest.outbox (event_id, topic, message_key, payload) VALUES ($1, $2, 'refused', $3)`, [
      bad.event_id,
      t.batchRegistered,
      JSON.stringify(bad),
    ]);
    const fine = await post(svc.url, '/v1/batches', { batch_id: 'behind-refused', essay_count: 2 });
    expect(fine.status).toBe(202);
    await eventually((s) => s.key === 'behind-refused');
    const deadline = Date.now() + 15_000;
    let row: { publish_attempts: number; set_aside_reason: string | null } | undefined;
    while (Date.now() < deadline) {
      [row] = await query<{ publish_attempts: number; set_aside_reason: string | null }>(
        'SELECT publish_attempts, set_aside_reason FROM ingest.outbox WHERE event_id = $1',
        [bad.event_id],
      );
      if (row?.set_aside_reason) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(row).toMatchObject({ publish_attempts: 3, set_aside_reason: expect.stringMatching(/breaks its contract/) });
    expect(seen.filter((s) => s.value.event_id === bad.event_id)).toEqual([]);
  });

  // Last: it stops the shared PostgreSQL.
  it('answers 503 and reports not ready while Postgres is down', async () => {
    await postgres.stop();
    const r = await post(svc.url, '/v1/batches', { batch_id: 'pg-down', essay_count: 1 });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ retriable: true });
    expect(String(r.body.error)).toMatch(/^postgres: /);
    const ready = await fetch(`${svc.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(Object.keys(((await ready.json()) as { problems: object }).problems)).toEqual(['postgres']);
    expect(seen.filter((s) => s.key === 'pg-down')).toEqual([]);
  });
});
