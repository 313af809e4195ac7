/**
 * A kafkajs send that one broker fails and another acknowledges must, once
 * its retry succeeds, have stored every message it was given.
 *
 * kafkajs 2.2.4, unpatched, does not. Its `sendMessages` retries the whole
 * send, and each attempt chooses the messages' partitions again; it then sends
 * only to the brokers that have not answered yet. A message without a key (or
 * one whose partition's leader moved) can be placed, on the retry, on a
 * partition of a broker that already answered: it is sent nowhere, and the
 * send resolves as if it had been stored. Found by the fuzz suite (seed 1 on
 * 86eac06): a dead letter (no key) the relay sent while a broker was down was
 * marked published and never reached its topic. `patches/kafkajs+2.2.4.patch`
 * fixes it: partitions are chosen once per send, and a retry sends the
 * partitions that have no answer yet, to their leaders as they are now.
 *
 * Here one broker of three answers its next Produce with a retriable error
 * while the others store their share; every message must be on the topic
 * after the send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaMockCluster, type StartedKafkaMock } from './kafka-mock.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kafkajs-retry-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const PARTITIONS = 6;
// Not a multiple of the partitions: kafkajs places keyless messages round-robin, so a retry starts elsewhere.
const MESSAGES = 125;
const SENT = Array.from({ length: MESSAGES }, (_, i) => `m${i}`).sort();

/** Every value on the topic: read from the beginning until each partition's end. */
async function stored(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const o of await admin.fetchTopicOffsets(topic)) ends.set(o.partition, BigInt(o.high));
  } finally {
    await admin.disconnect();
  }
  const values: string[] = [];
  const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const next = new Map<number, bigint>([...ends.keys()].map((p) => [p, 0n]));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${values.length} values, not to the end, in 15 s`)),
        15_000,
      );
      const done = () => [...ends].every(([p, end]) => next.get(p)! >= end);
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      if (done()) return finish();
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            values.push(message.value?.toString() ?? '');
            next.set(partition, BigInt(message.offset) + 1n);
            if (done()) finish();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

async function sendWithOneBrokerFailing(
  mock: StartedKafkaMock,
  topic: string,
  key: (i: number) => string | null,
): Promise<string[]> {
  await mock.createTopic(topic, PARTITIONS, 1);
  // Two partitions on each broker, so every send goes to all three.
  for (let p = 0; p < PARTITIONS; p++) await mock.setPartitionLeader(topic, p, (p % 3) + 1);
  const kafka = new Kafka({
    clientId: 'retry-test',
    brokers: mock.bootstrapServers,
    retry: { initialRetryTime: 50, maxRetryTime: 200, retries: 5 },
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key: 'warm', value: 'warm' }] }); // metadata and connections
    await mock.pushBrokerRequestErrors(2, 'Produce', ['NOT_LEADER_OR_FOLLOWER']);
    await producer.sendBatch({
      acks: -1,
      topicMessages: [
        { topic, messages: Array.from({ length: MESSAGES }, (_, i) => ({ key: key(i), value: `m${i}` })) },
      ],
    });
    expect(await mock.pendingRequestErrors(2, 'Produce')).toBe(0); // the failure was met and retried past
    return (await stored(kafka, topic)).filter((v) => v !== 'warm').sort();
  } finally {
    await producer.disconnect();
  }
}

describe('a kafkajs send retried after one broker failed', () => {
  it('stores every message without a key (each attempt used to choose their partitions anew)', async () => {
    await using mock = await KafkaMockCluster.start({ brokers: 3, logFile: join(dir, 'nokey.log') });
    // Each message once: none lost (placed on an answered broker), none twice (sent to the failed one again).
    expect(await sendWithOneBrokerFailing(mock, 'retry-nokey', () => null)).toEqual(SENT);
  }, 30_000);

  it('stores every keyed message (their partitions never change)', async () => {
    await using mock = await KafkaMockCluster.start({ brokers: 3, logFile: join(dir, 'keyed.log') });
    expect(await sendWithOneBrokerFailing(mock, 'retry-keyed', (i) => `k${i}`)).toEqual(SENT);
  }, 30_000);
});
