/**
 * When the consumer commits a fetched batch's offsets: at once when the batch
 * reaches the partition's end (the partition may now stay idle, and an offset
 * left uncommitted would stay so: fuzz seed 53), at most every 250 ms while
 * the partition is behind its end (it is fetched again at once, and a commit
 * per fetch is a broker round trip per fetch — per message, when a broker
 * serves one small record batch per fetch). Driven with hand-built `eachBatch`
 * payloads (no broker).
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { EachBatchPayload } from 'kafkajs';
import { registrationMessage } from '../../testing/envelope.js';
import { topics as topicNames } from '@chaos-lab/contracts';
import { InputConsumer } from './consumer.js';
import type { Coordinator } from '../../domain/coordinator.js';
import type { BatchStore } from '../../domain/ports.js';
import { createMetrics } from '../../metrics.js';

const topics = topicNames('commit.');

describe('offset commits of fetched batches', () => {
  it('commits a batch that reaches the end at once, and one behind the end at most every 250 ms', async () => {
    const commits: string[] = [];
    const coordinator = { registerBatch: async () => 'registered' } as unknown as Coordinator;
    const consumer = new InputConsumer(
      {
        brokers: ['127.0.0.1:1'],
        clientId: 'commit',
        groupId: 'commit',
        topics,
        maxWaitMs: 100,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 1000,
        partitionsConcurrently: 1,
      },
      coordinator,
      {} as BatchStore,
      createMetrics('commit'),
      pino({ level: 'silent' }),
    );
    const eachBatch = (consumer as unknown as { eachBatch(p: EachBatchPayload): Promise<void> }).eachBatch.bind(
      consumer,
    );
    const fetched = (offset: number, highWatermark: number) =>
      eachBatch({
        batch: {
          topic: topics.batchRegistered,
          partition: 0,
          highWatermark: String(highWatermark),
          messages: [registrationMessage(offset)],
        },
        resolveOffset: () => {},
        commitOffsetsIfNecessary: async (offsets?: { topics: { partitions: { offset: string }[] }[] }) => {
          if (offsets) commits.push(offsets.topics[0]!.partitions[0]!.offset);
        },
        heartbeat: async () => {},
        isRunning: () => true,
        isStale: () => false,
      } as unknown as EachBatchPayload);

    await fetched(0, 10); // behind, never committed before: committed
    await fetched(1, 10); // behind, committed just now: left to the next commit
    await fetched(2, 10);
    expect(commits).toEqual(['1']);
    await fetched(3, 4); // the end: committed at once
    expect(commits).toEqual(['1', '4']);
    await fetched(4, 10);
    expect(commits).toEqual(['1', '4']);
    await new Promise((r) => setTimeout(r, 300));
    await fetched(5, 10); // behind, 300 ms after the last commit: committed
    expect(commits).toEqual(['1', '4', '6']);
  });
});
