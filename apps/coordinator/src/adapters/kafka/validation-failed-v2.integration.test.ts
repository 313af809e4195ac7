/**
 * `essay.validation.failed.v2` through a real instance: read from the
 * validation topic next to v1, dispatched with its upload id, and each upload
 * of one file name settles a slot of its own (the domain's side of it is in
 * `domain/failure-identity.integration.test.ts`).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { EventType, inputTopics, outputTopics, topics } from '@chaos-lab/contracts';
import { CoordinatorInstances, startEnvironment } from '@chaos-lab/lab';
import { envelope } from '../../testing/envelope.js';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'main.js');
const PREFIX = 'failed-v2.';

describe('essay.validation.failed.v2 through Kafka', () => {
  it('settles a slot for each upload of one file name, next to a v1 failure of that name', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'failed-v2-'));
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

      const producer = new Kafka({ brokers: [...env.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      const b = 'failed-v2-batch';
      const failed = { batch_id: b, original_file_name: 'essay.docx', reason: 'empty file' };
      try {
        await producer.send({
          topic: t.batchRegistered,
          messages: [
            { key: b, value: envelope(EventType.BatchRegistered, { batch_id: b, essay_ids: ['e1', 'e2', 'e3'] }) },
          ],
        });
        await producer.send({
          topic: t.validationFailed,
          messages: [
            { key: b, value: envelope(EventType.ValidationFailedV2, { ...failed, upload_id: 'u1' }) },
            { key: b, value: envelope(EventType.ValidationFailedV2, { ...failed, upload_id: 'u2' }) },
            // A redelivery (same upload, new event id) settles nothing new.
            { key: b, value: envelope(EventType.ValidationFailedV2, { ...failed, upload_id: 'u1' }) },
            { key: b, value: envelope(EventType.ValidationFailed, failed) },
          ],
        });
      } finally {
        await producer.disconnect();
      }

      let view: { status?: string; validationFailures?: { upload_id?: string; original_file_name: string }[] } = {};
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && view.status !== 'ready') {
        const r = await fetch(`${x.url}/v1/batches/${b}`);
        if (r.status === 200) view = (await r.json()) as typeof view;
        if (view.status !== 'ready') await new Promise((res) => setTimeout(res, 200));
      }
      expect(view.status, JSON.stringify(view)).toBe('ready');
      expect(view.validationFailures!.map((f) => f.upload_id ?? 'v1').sort()).toEqual(['u1', 'u2', 'v1']);
      expect(view.validationFailures!.every((f) => f.original_file_name === 'essay.docx')).toBe(true);
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 90_000);
});
