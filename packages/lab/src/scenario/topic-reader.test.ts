/**
 * The lab's readers must not go blind for long after a broker fault: the
 * output observer is the instrument the liveness bounds are measured with, so
 * a reader that backs off for many seconds makes a healthy pipeline look
 * stuck (fuzz seeds 37 and 63 on 6be2cce: nothing observed for 16–17 s after
 * a broker came back up, then everything at once). The cause: a consumer's
 * fetch loop has its own retry budget (kafkajs' default: 5), spent within
 * about 2 s of the broker going down; the consumer crashes, and its rejoin
 * waits out its old member's session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaMockCluster } from '../environment/local/kafka-mock.js';
import { TopicReader } from './topic-reader.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'topic-reader-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TopicReader', () => {
  it('reads again within seconds once a broker that led its partitions is back up', async () => {
    await using mock = await KafkaMockCluster.start({ brokers: 3, logFile: join(dir, 'mock.log') });
    const topic = 'reader-broker-down';
    await mock.createTopic(topic, 3, 1);
    for (const p of [0, 1, 2]) await mock.setPartitionLeader(topic, p, 2);
    // As in a lab session: the group's coordinator is a broker the nemesis never takes down.
    await mock.setCoordinator('group', 'reader-test', 1);
    const seen: { value: string; at: number }[] = [];
    await using reader = new TopicReader(mock.bootstrapServers, [topic], 'reader-test', 'reader-test', (m) =>
      seen.push({ value: m.message.value?.toString() ?? '', at: performance.now() }),
    );
    await reader.start();
    const producer = new Kafka({
      brokers: mock.bootstrapServers,
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 20 },
    }).producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ key: 'a', value: 'before' }] });
      const until = performance.now() + 10_000;
      while (!seen.some((s) => s.value === 'before') && performance.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      expect(seen.map((s) => s.value)).toContain('before');

      // The leader goes away long enough for the reader's fetches to fail and back off, then comes back.
      await mock.setBrokerDown(2);
      await new Promise((r) => setTimeout(r, 2500));
      await mock.setBrokerUp(2);
      const upAt = performance.now();
      await producer.send({ topic, messages: [{ key: 'b', value: 'after' }] });
      const sentMs = performance.now() - upAt;
      const deadline = upAt + 15_000;
      while (!seen.some((s) => s.value === 'after') && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const after = seen.find((s) => s.value === 'after');
      expect(after, 'the reader never saw the message sent after the broker came back').toBeDefined();
      // A healthy reader is back within its short backoff; kafkajs' defaults (up to 30 s) took 16–17 s here.
      expect(after!.at - upAt, `sent ${Math.round(sentMs)} ms after the broker came back`).toBeLessThan(4000);
    } finally {
      await producer.disconnect();
    }
  }, 60_000);
});
