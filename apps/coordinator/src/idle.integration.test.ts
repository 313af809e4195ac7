/**
 * An instance with nothing to do must cost (nearly) nothing: its outbox relay's poll backs off while passes
 * find no rows (its own commits wake it at once), and a sweep pass with nothing to do is one statement. Read
 * from the instance's own metrics (calls to Postgres by operation) over an idle window, with a real
 * coordinator on real servers. Before: 10 relay passes and 5 sweep statements a second, for ever.
 */
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { EventType } from '@chaos-lab/contracts';
import { startCoordinatorTestBed } from '@chaos-lab/lab';
import { envelope } from './testing/envelope.js';

/** coordinator_dependency_duration_seconds_count by Postgres operation. */
function postgresCalls(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(
    /^coordinator_dependency_duration_seconds_count\{[^}]*dependency="postgres",operation="([^"]+)"[^}]*\} (\d+)/gm,
  ))
    out.set(m[1]!, Number(m[2]));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an idle coordinator', () => {
  it('polls its outbox less and less, sweeps with one statement, and still relays at once when work comes', async () => {
    await using bed = await startCoordinatorTestBed({
      name: 'idle',
      env: {
        COORDINATOR_OUTBOX_POLL_MS: '100',
        COORDINATOR_OUTBOX_IDLE_POLL_MS: '2000',
        COORDINATOR_SWEEP_INTERVAL_MS: '1000',
      },
    });
    const x = bed.instances.get(0);
    await sleep(5000); // past the start and the poll's back-off
    const before = postgresCalls(await x.metrics());
    const windowS = 8;
    await sleep(windowS * 1000);
    const after = postgresCalls(await x.metrics());
    const perSecond = (op: string) => ((after.get(op) ?? 0) - (before.get(op) ?? 0)) / windowS;
    expect(perSecond('relay_outbox'), 'relay passes per second').toBeLessThanOrEqual(0.75);
    expect(perSecond('sweep_agenda'), 'sweep passes per second').toBeGreaterThan(0.5);
    for (const op of ['overdue_batches', 'closed_cache_open', 'batches_with_pending', 'unregistered_expired_parking'])
      expect(perSecond(op), `${op} per second`).toBe(0);

    // Work arrives: the commit wakes the relay, whatever its poll delay.
    const kafka = new Kafka({ brokers: [...bed.env.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const batchId = `idle-${randomUUID()}`;
    await producer.send({
      topic: bed.topics.batchRegistered,
      messages: [
        { key: batchId, value: envelope(EventType.BatchRegistered, { batch_id: batchId, essay_ids: ['e1'] }) },
      ],
    });
    const sent = Date.now();
    await producer.send({
      topic: bed.topics.contentProvisioned,
      messages: [
        {
          key: batchId,
          value: envelope(EventType.ContentProvisioned, {
            batch_id: batchId,
            text_storage_id: 't1',
            original_file_name: 'a.txt',
          }),
        },
      ],
    });
    await producer.disconnect();
    const deadline = Date.now() + 10_000;
    let published = 0;
    while (Date.now() < deadline) {
      published = [...(await x.metrics()).matchAll(/^coordinator_outbox_published_total\{[^}]*\} (\d+)/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
      if (published >= 2) break; // slot-assigned and batch-ready
      await sleep(20);
    }
    expect(published).toBeGreaterThanOrEqual(2);
    // Within a fetch wait and a wake window, not a 2 s poll.
    expect(Date.now() - sent).toBeLessThan(1500);
  }, 90_000);
});
