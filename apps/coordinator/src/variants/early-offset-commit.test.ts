/**
 * `early-offset-commit` commits a fetched batch's offsets before the work;
 * production leaves them for kafkajs to commit after `eachBatch` returns.
 * Driven with a hand-built `eachBatch` payload (no broker): a "crash" at the
 * fail-point after the first message shows what each one loses.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { EachBatchPayload } from 'kafkajs';
import { registrationMessage } from '../testing/envelope.js';
import { topics as topicNames } from '@chaos-lab/contracts';
import { InputConsumer, type ConsumerOptions } from '../adapters/kafka/consumer.js';
import type { Coordinator } from '../domain/coordinator.js';
import type { BatchStore } from '../domain/ports.js';
import { createMetrics } from '../metrics.js';
import { commitEarly } from './early-offset-commit.js';

const topics = topicNames('eoc.');

/** Runs one fetched batch of two messages; the fail-point "crashes" (throws) after the first message's work. */
async function runBatch(wrap: ConsumerOptions['eachBatch']) {
  const trace: string[] = [];
  const coordinator = {
    registerBatch: async (r: { batchId: string }) => {
      trace.push(`work ${r.batchId}`);
      return 'registered';
    },
  } as unknown as Coordinator;
  const consumer = new InputConsumer(
    {
      brokers: ['127.0.0.1:1'],
      clientId: 'eoc',
      groupId: 'eoc',
      topics,
      maxWaitMs: 100,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      partitionsConcurrently: 1,
      failpoints: () => {
        throw new Error('killed at the fail-point');
      },
      eachBatch: wrap,
    },
    coordinator,
    {} as BatchStore,
    createMetrics('eoc'),
    pino({ level: 'silent' }),
  );
  const payload = {
    batch: {
      topic: topics.batchRegistered,
      partition: 0,
      highWatermark: '2',
      messages: [registrationMessage(0), registrationMessage(1)],
    },
    resolveOffset: (o: string) => trace.push(`resolve ${o}`),
    commitOffsetsIfNecessary: async (offsets?: { topics: { partitions: { offset: string }[] }[] }) => {
      trace.push(offsets ? `commit ${offsets.topics[0]?.partitions[0]?.offset}` : 'commit resolved');
    },
    heartbeat: async () => {},
    isRunning: () => true,
    isStale: () => false,
  } as unknown as EachBatchPayload;
  const eachBatch = (consumer as unknown as { eachBatch(p: EachBatchPayload): Promise<void> }).eachBatch.bind(consumer);
  await expect(eachBatch(payload)).rejects.toThrow('killed at the fail-point');
  return trace;
}

describe('early-offset-commit', () => {
  it('commits past the whole batch before any work, so a crash after the first message loses the second', async () => {
    // Committed offset 2 = "resume after offset 1": b1 is never redelivered, and was never processed.
    expect(await runBatch(commitEarly)).toEqual(['resolve 1', 'commit 2', 'work b0']);
  });

  it('production resolves nothing before the work is durable, so the same crash redelivers both', async () => {
    expect(await runBatch(undefined)).toEqual(['work b0']);
  });
});
