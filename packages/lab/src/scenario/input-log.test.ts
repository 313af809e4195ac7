/**
 * The input-log audit against the real mock broker: what was acknowledged
 * and stored is found; an acknowledged publish the topic does not hold is
 * reported, and so is one stored before the seed began.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaMockCluster, type StartedKafkaMock } from '../environment/local/kafka-mock.js';
import { HistoryRecorder } from '@chaos-lab/model';
import { InputLog } from './input-log.js';

let dir: string;
let mock: StartedKafkaMock;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'input-log-test-'));
  mock = await KafkaMockCluster.start({ brokers: 1, logFile: join(dir, 'kafka.log') });
  await mock.createTopic('in', 2);
}, 30_000);

afterAll(async () => {
  await mock?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('InputLog', () => {
  it('finds acknowledged publishes in their topic and reports the ones it does not hold', async () => {
    const producer = new Kafka({ brokers: mock.bootstrapServers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const log = new InputLog(mock.bootstrapServers, ['in'], 'input-log-test');
    try {
      // Before the seed: stored, but must not count for it.
      await producer.send({ topic: 'in', messages: [{ key: 'k', value: 'before', partition: 0 }] });
      await log.start();
      const admin = new Kafka({ brokers: mock.bootstrapServers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const offsets = async () =>
        new Map((await admin.fetchTopicOffsets('in')).map((p) => [`in/${p.partition}`, BigInt(p.high)] as const));
      const from = await offsets();

      const h = new HistoryRecorder();
      const publish = (raw: string, send: boolean) => {
        const i = h.invoke('workload', { topic: 'in', key: 'k', raw });
        h.complete(i, 'ok');
        return send ? producer.send({ topic: 'in', messages: [{ key: 'k', value: raw, partition: i % 2 }] }) : null;
      };
      await publish('a', true);
      await publish('b', true);
      await publish('never-sent', false); // "acknowledged" in the history, absent from the topic
      await publish('before', false); // stored only before the seed began
      const ends = await offsets();
      await admin.disconnect();

      expect(await log.caughtUp(ends, 10_000)).toBe(true);
      expect(log.missing(h.entries, from).map((m) => m.index)).toEqual([2, 3]);
    } finally {
      await log.stop();
      await producer.disconnect();
    }
  }, 60_000);
});
