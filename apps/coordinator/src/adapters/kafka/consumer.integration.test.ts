/**
 * The consumer must survive the crash kafkajs will not restart from
 * (`CRASH` with `restart: false`), which the mock broker's SyncGroup race
 * produces in normal runs. Here it is forced: the broker answers
 * INVALID_REQUEST to the first SyncGroup requests, and the instance must still
 * join, become ready, and process an event.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { EventType, inputTopics, topics } from '@chaos-lab/contracts';
import { CoordinatorInstances, startEnvironment } from '@chaos-lab/lab';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'main.js');

describe('consumer crash recovery', () => {
  it('recreates the consumer after a non-restartable crash and keeps processing', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'consumer-crash-'));
    try {
      await using env = await startEnvironment({ logDir });
      const t = topics('crash.');
      for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, 2);
      await env.kafka.pushRequestErrors('SyncGroup', ['INVALID_REQUEST', 'INVALID_REQUEST']);
      await using instances = await CoordinatorInstances.start({
        entry,
        count: 1,
        logDir,
        env: {
          ...env.coordinatorEnv(),
          COORDINATOR_TOPIC_PREFIX: 'crash.',
          COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: '4000',
        },
      });
      const x = instances.get(0);
      const restarts = /^coordinator_consumer_restarts_total\{[^}]*\} (\d+)/m.exec(await x.metrics());
      expect(Number(restarts?.[1] ?? 0)).toBeGreaterThanOrEqual(1);

      const producer = new Kafka({ brokers: [...env.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      const event = {
        event_id: randomUUID(),
        event_type: EventType.BatchRegistered,
        correlation_id: 'c',
        occurred_at: new Date().toISOString(),
        data: { batch_id: 'after-crash', essay_ids: ['e1'] },
      };
      await producer.send({
        topic: t.batchRegistered,
        messages: [{ key: 'after-crash', value: JSON.stringify(event) }],
      });
      await producer.disconnect();
      const deadline = Date.now() + 20_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        status = (await fetch(`${x.url}/v1/batches/after-crash`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 90_000);
});
