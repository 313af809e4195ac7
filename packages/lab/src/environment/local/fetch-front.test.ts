/**
 * The fetch fronts (fetch-front.ts): librdkafka's mock serves one stored
 * record batch per partition per Fetch; through its fronts a consumer gets
 * every batch up to its limits, as from a Kafka broker — and everything else
 * (metadata, groups, produce, faults) behaves as without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaMockCluster, type StartedKafkaMock } from './kafka-mock.js';
import { nextOffset } from './fetch-front.js';

let dir: string;
let seq = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fetch-front-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const SENDS = 40;

function kafkaFor(mock: StartedKafkaMock): Kafka {
  return new Kafka({
    clientId: 'front-test',
    brokers: mock.bootstrapServers,
    retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 5 },
    logLevel: logLevel.NOTHING,
  });
}

/** Sends SENDS messages one send each (one stored batch each) to partition 0, then reads them: the batch sizes. */
async function batchSizes(fetchFront: boolean): Promise<{ sizes: number[]; values: string[] }> {
  await using mock = await KafkaMockCluster.start({ brokers: 3, logFile: join(dir, `m${++seq}.log`), fetchFront });
  const topic = `front-${seq}`;
  await mock.createTopic(topic, 1, 1);
  const kafka = kafkaFor(mock);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let i = 0; i < SENDS; i++) await producer.send({ topic, messages: [{ key: 'k', value: `m${i}` }] });
  await producer.disconnect();
  await mock.setCoordinator('group', `${topic}-g`, 1);
  const consumer = kafka.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 50 });
  const sizes: number[] = [];
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${values.length} of ${SENDS} in 15 s`)), 15_000);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            sizes.push(batch.messages.length);
            values.push(...batch.messages.map((m) => m.value?.toString() ?? ''));
            if (values.length >= SENDS) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { sizes, values };
}

describe('fetch fronts', () => {
  it('librdkafka alone serves one stored batch per fetch', async () => {
    const { sizes, values } = await batchSizes(false);
    expect(values).toEqual(Array.from({ length: SENDS }, (_, i) => `m${i}`));
    expect(Math.max(...sizes)).toBe(1);
  }, 40_000);

  it('through the fronts, a fetch serves every stored batch up to its limits, in order, each once', async () => {
    const { sizes, values } = await batchSizes(true);
    expect(values).toEqual(Array.from({ length: SENDS }, (_, i) => `m${i}`));
    expect(sizes[0]).toBe(SENDS);
  }, 40_000);

  it('a broker set down refuses connections at its front, and serves again once up', async () => {
    await using mock = await KafkaMockCluster.start({
      brokers: 3,
      logFile: join(dir, `m${++seq}.log`),
      fetchFront: true,
    });
    const [host, port] = mock.bootstrapServers[1]!.split(':');
    const connect = () =>
      new Promise<string>((resolve) => {
        const s = netConnect(Number(port), host);
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
    expect(await connect()).toBe('connected');
    await mock.setBrokerDown(2);
    expect(await connect()).toBe('ECONNREFUSED');
    await mock.setBrokerUp(2);
    expect(await connect()).toBe('connected');
  }, 40_000);

  it('finds the offset after whole v2 record batches, and refuses anything else', () => {
    const batch = (base: bigint, lastDelta: number, extra: number) => {
      const b = Buffer.alloc(61 + extra);
      b.writeBigInt64BE(base, 0);
      b.writeInt32BE(61 + extra - 12, 8);
      b.writeInt8(2, 16);
      b.writeInt32BE(lastDelta, 23);
      return b;
    };
    expect(nextOffset(Buffer.concat([batch(10n, 2, 5), batch(13n, 0, 9)]))).toBe(14n);
    expect(nextOffset(batch(10n, 2, 5).subarray(0, 40))).toBeUndefined(); // truncated
    const v1 = batch(0n, 0, 0);
    v1.writeInt8(1, 16);
    expect(nextOffset(v1)).toBeUndefined();
  });
});
