/**
 * The consumer must survive the crash kafkajs will not restart from
 * (`CRASH` with `restart: false`), which the mock broker's SyncGroup race
 * produces in normal runs. Here it is forced: the broker answers
 * INVALID_REQUEST to the first SyncGroup requests, and the instance must still
 * join, become ready, and process an event.
 *
 * And the offsets of durable work must reach Kafka even when the broker
 * refuses the commit after a batch and no further input comes (fuzz seed 53:
 * a partition idle after its last message stayed one behind for good).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { EventType, inputTopics, topics } from '@chaos-lab/contracts';
import { CoordinatorInstances, requireKafkaControl, startEnvironment } from '@chaos-lab/lab';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'main.js');

describe('consumer crash recovery', () => {
  it('recreates the consumer after a non-restartable crash and keeps processing', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'consumer-crash-'));
    try {
      await using env = await startEnvironment({ logDir });
      const t = topics('crash.');
      for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, 2);
      await requireKafkaControl(env.kafka, 'requestErrors', env.provider).pushRequestErrors('SyncGroup', [
        'INVALID_REQUEST',
        'INVALID_REQUEST',
      ]);
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

  it('commits the offset of work done although the broker refused the commit, with no further input', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'consumer-commit-'));
    try {
      await using env = await startEnvironment({ logDir });
      const t = topics('commit.');
      for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, 1);
      const groupId = 'commit-refused';
      const GROUP_BROKER = 1;
      await requireKafkaControl(env.kafka, 'coordinatorPins', env.provider).setCoordinator(
        'group',
        groupId,
        GROUP_BROKER,
      );
      await using instances = await CoordinatorInstances.start({
        entry,
        count: 1,
        logDir,
        env: { ...env.coordinatorEnv(), COORDINATOR_TOPIC_PREFIX: 'commit.', COORDINATOR_KAFKA_GROUP_ID: groupId },
      });
      const x = instances.get(0);
      // The next two commits of the group are refused, as a coordinator moving or timing out would.
      await requireKafkaControl(env.kafka, 'requestErrors', env.provider).pushBrokerRequestErrors(
        GROUP_BROKER,
        'OffsetCommit',
        ['REQUEST_TIMED_OUT', 'REQUEST_TIMED_OUT'],
      );

      const kafka = new Kafka({ brokers: [...env.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: t.batchRegistered,
        messages: [
          {
            key: 'refused',
            value: JSON.stringify({
              event_id: randomUUID(),
              event_type: EventType.BatchRegistered,
              correlation_id: 'c',
              occurred_at: new Date().toISOString(),
              data: { batch_id: 'refused', essay_ids: ['e1'] },
            }),
          },
        ],
      });
      await producer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      try {
        const committed = async () =>
          (await admin.fetchOffsets({ groupId, topics: [t.batchRegistered] }))[0]?.partitions[0]?.offset;
        const deadline = Date.now() + 10_000;
        let status = 0;
        let offset: string | undefined;
        while (Date.now() < deadline) {
          status = (await fetch(`${x.url}/v1/batches/refused`)).status;
          offset = await committed();
          if (status === 200 && offset === '1') break;
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(status).toBe(200);
        // The refusals were met (else this test proves nothing), and the offset got through anyway.
        expect(
          await requireKafkaControl(env.kafka, 'requestErrors', env.provider).pendingRequestErrors(
            GROUP_BROKER,
            'OffsetCommit',
          ),
        ).toBe(0);
        expect(offset).toBe('1');
      } finally {
        await admin.disconnect();
      }
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 90_000);
});
