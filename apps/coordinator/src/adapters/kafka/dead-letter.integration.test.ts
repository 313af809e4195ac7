/**
 * A dead letter must not be able to fail because of the message's bytes.
 * PostgreSQL refuses NUL in text and jsonb and a lone surrogate in jsonb, so a
 * dead letter that carried such a value or key as text was refused, retried
 * for ever, and blocked its partition. Here hostile messages sit on one
 * partition of the content topic in front of a valid content: each must be
 * dead-lettered exactly once (the exact bytes in base64, a storable `raw`),
 * and the content behind them must still be assigned.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import {
  DEAD_LETTER_RAW_LIMIT,
  DeadLetter,
  deadLetterText,
  EventType,
  inputTopics,
  outputTopics,
  topics,
} from '@chaos-lab/contracts';
import { CoordinatorInstances, startEnvironment } from '@chaos-lab/lab';
import { envelope } from '../../testing/envelope.js';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'main.js');
const PREFIX = 'dlq-bytes.';
const NUL = '\u0000';

interface Hostile {
  readonly name: string;
  readonly key: Buffer | null;
  readonly value: Buffer;
  /** The dead letter's reason starts with this. */
  readonly reason: string;
}

const hostiles: Hostile[] = [
  // JSON.parse quotes the input in its message: the reason holds the NUL too.
  { name: 'a single NUL byte', key: null, value: Buffer.from([0x00]), reason: 'invalid_json:' },
  {
    name: 'invalid UTF-8 and NUL',
    key: Buffer.from('h2'),
    value: Buffer.from([0xff, 0xfe, 0x00]),
    reason: 'invalid_json:',
  },
  { name: 'a key with NUL', key: Buffer.from(`k${NUL}ey`), value: Buffer.from('not json'), reason: 'invalid_json:' },
  {
    // 4095 + 2 UTF-16 units: a cut at 4096 leaves a lone high surrogate. The key is invalid UTF-8.
    name: 'a surrogate pair across the cut',
    key: Buffer.from([0xc3, 0x28]),
    value: Buffer.from(`${'x'.repeat(DEAD_LETTER_RAW_LIMIT - 1)}\u{1F600}`),
    reason: 'invalid_json:',
  },
  {
    name: 'a raw NUL inside a JSON string',
    key: Buffer.from('h5'),
    value: Buffer.from(`{"event_type":"${EventType.ContentProvisioned}","data":{"batch_id":"a${NUL}"}}`),
    reason: 'invalid_json:',
  },
  {
    name: 'an escaped NUL in a schema-invalid event',
    key: Buffer.from('h6'),
    value: Buffer.from(`{"event_type":"${EventType.ContentProvisioned}","data":{"batch_id":"a\\u0000"}}`),
    reason: 'schema_mismatch:',
  },
  {
    // Refused by the contract (Text: no NUL), so dead-lettered at once; before the contract said so, the store
    // refused the file name (22021) and the message was dead-lettered only after retries, as processing_failed.
    name: 'an event whose file name holds NUL',
    key: Buffer.from('dlq-nul-file'),
    value: Buffer.from(
      envelope(EventType.ContentProvisioned, {
        batch_id: 'dlq-nul-file',
        text_storage_id: 'nul-file',
        original_file_name: `a${NUL}.txt`,
      }),
    ),
    reason: 'schema_mismatch: data.original_file_name: must not contain NUL',
  },
];

/** The key the outbox row (a text column) and so the DLQ message carry: the key only if it is storable text. */
function storableKey(key: Buffer | null): string | null {
  if (key === null) return null;
  const s = key.toString('utf8');
  return !s.includes(NUL) && Buffer.from(s, 'utf8').equals(key) ? s : null;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

describe('dead letters of hostile bytes', () => {
  it('dead-letters each hostile message once and keeps the partition flowing', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'dead-letter-bytes-'));
    try {
      await using env = await startEnvironment({ logDir, prometheus: false });
      const t = topics(PREFIX);
      for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, 2);
      for (const topic of outputTopics(t)) await env.kafka.createTopic(topic, 1);
      await using instances = await CoordinatorInstances.start({
        entry,
        count: 1,
        logDir,
        env: { ...env.coordinatorEnv(), COORDINATOR_TOPIC_PREFIX: PREFIX },
      });
      const x = instances.get(0);

      const kafka = new Kafka({ brokers: [...env.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING });
      const seen: { key: Buffer | null; value: DeadLetter }[] = [];
      const reader = kafka.consumer({ groupId: `${PREFIX}reader`, maxWaitTimeInMs: 100 });
      await reader.connect();
      await reader.subscribe({ topics: [t.deadLetter], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => {
          seen.push({ key: message.key, value: DeadLetter.parse(JSON.parse(message.value!.toString('utf8'))) });
        },
      });

      const producer = kafka.producer();
      await producer.connect();
      const batchId = 'dlq-behind';
      try {
        // One send, one partition: the hostile messages at consecutive offsets, in order.
        const [sent] = await producer.send({
          topic: t.contentProvisioned,
          messages: hostiles.map((h) => ({ partition: 0, key: h.key, value: h.value })),
        });
        const base = BigInt(sent!.baseOffset!);
        await producer.send({
          topic: t.batchRegistered,
          messages: [
            { key: batchId, value: envelope(EventType.BatchRegistered, { batch_id: batchId, essay_ids: ['e1'] }) },
          ],
        });
        await producer.send({
          topic: t.contentProvisioned,
          messages: [
            {
              partition: 0,
              key: batchId,
              value: envelope(EventType.ContentProvisioned, {
                batch_id: batchId,
                text_storage_id: 'behind',
                original_file_name: 'behind.txt',
              }),
            },
          ],
        });

        // The content behind the hostile messages is assigned and the batch closes.
        let view: { status?: string; essays?: { text_storage_id: string }[] } = {};
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline && view.status !== 'ready') {
          const r = await fetch(`${x.url}/v1/batches/${batchId}`);
          if (r.status === 200) view = (await r.json()) as typeof view;
          if (view.status !== 'ready') await new Promise((res) => setTimeout(res, 200));
        }
        expect(view, 'the batch behind the hostile messages').toMatchObject({
          status: 'ready',
          essays: [{ text_storage_id: 'behind' }],
        });

        const rows = await query<{ message_key: string | null; payload: DeadLetter }>(
          env.endpoints.postgresUrl,
          'SELECT message_key, payload FROM outbox WHERE topic = $1',
          [t.deadLetter],
        );
        expect(rows).toHaveLength(hostiles.length);
        const until = Date.now() + 10_000;
        while (seen.length < hostiles.length && Date.now() < until) await new Promise((r) => setTimeout(r, 100));

        hostiles.forEach((h, i) => {
          const offset = String(base + BigInt(i));
          const expected = {
            source_topic: t.contentProvisioned,
            source_partition: 0,
            source_offset: offset,
            raw: deadLetterText(h.value),
            raw_base64: h.value.subarray(0, DEAD_LETTER_RAW_LIMIT).toString('base64'),
            raw_bytes: h.value.length,
            key_base64: h.key === null ? null : h.key.subarray(0, DEAD_LETTER_RAW_LIMIT).toString('base64'),
          };
          const row = rows.filter((r) => r.payload.data.source_offset === offset);
          expect(row, h.name).toHaveLength(1);
          expect(row[0]!.message_key, h.name).toBe(storableKey(h.key));
          expect(row[0]!.payload.data, h.name).toMatchObject(expected);
          expect(row[0]!.payload.data.reason.startsWith(h.reason), `${h.name}: ${row[0]!.payload.data.reason}`).toBe(
            true,
          );
          const relayed = seen.filter((m) => m.value.data.source_offset === offset);
          expect(relayed.length, `${h.name} on the DLQ topic`).toBeGreaterThanOrEqual(1);
          expect(relayed[0]!.value.data, h.name).toEqual(row[0]!.payload.data);
          expect(relayed[0]!.key?.toString('utf8') ?? null, h.name).toBe(storableKey(h.key));
        });
        // What `raw` is for the pair cut: the 4095 'x' and no half of the emoji.
        expect(deadLetterText(hostiles[3]!.value)).toBe('x'.repeat(DEAD_LETTER_RAW_LIMIT - 1));
      } finally {
        await producer.disconnect();
        await reader.disconnect();
      }
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 120_000);
});
