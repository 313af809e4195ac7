/**
 * Known-bad variant `direct-ready-publish` — LAB ONLY, never deployed.
 *
 * Seed bug: the instance publishes `batch.ready` straight to Kafka with its
 * own producer at the moment it detects completion, inside the database
 * transaction (before COMMIT), with a fresh random event id — instead of
 * queuing it in the outbox with an id derived from the batch.
 *
 * Why it is wrong: a publish is not part of the transaction. A transaction
 * that fails after the publish (a lost connection, a statement timeout, a
 * serialisation failure) is retried and publishes a second ready event under
 * another id; a crash after the publish and before COMMIT leaves a ready
 * event that Postgres never recorded (the batch is still open, and closes
 * again later under yet another id). DESIGN §3: "events leave through a
 * transactional outbox"; ids derived from their subject make a redelivery
 * recognisable.
 *
 * Built as production's store given its own announcement step
 * ({@link DirectReadyPublisher.steps}); the publisher owns the producer.
 *
 * Caught by: `one-ready-per-batch` (two distinct ready ids for one batch, or
 * a ready event while Postgres says `open`), under faults that break or kill
 * a transaction between the publish and COMMIT.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { EventType, type BatchReady } from '@chaos-lab/contracts';
import { kafkaLogCreator } from '../adapters/kafka/consumer.js';
import { envelope } from '../adapters/postgres/outbox.js';
import type { SettleContext, SettleSteps } from '../adapters/postgres/settle-steps.js';

export interface DirectPublishOptions {
  readonly brokers: string[];
  readonly clientId: string;
  readonly idempotent: boolean;
}

export class DirectReadyPublisher {
  private readonly producer: Producer;
  private connecting: Promise<void> | undefined;

  constructor(kafka: DirectPublishOptions, log: Logger) {
    this.producer = new Kafka({
      clientId: `${kafka.clientId}-direct`,
      brokers: kafka.brokers,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(log),
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    }).producer({
      idempotent: kafka.idempotent,
      maxInFlightRequests: kafka.idempotent ? 5 : 1,
      allowAutoTopicCreation: false,
    });
  }

  /** Production's settling steps, but `batch.ready` published by this publisher instead of queued. */
  steps(production: SettleSteps): SettleSteps {
    return { ...production, announceReady: (ctx, data) => this.publish(ctx, data) };
  }

  /** Publishes now, from inside the transaction that closed the batch (it has not committed yet). */
  private async publish({ topics, batchId, batch }: SettleContext, data: BatchReady['data']): Promise<void> {
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    await this.connecting;
    const eventId = randomUUID();
    await this.producer.send({
      topic: topics.batchReady,
      acks: -1,
      messages: [
        {
          key: batchId,
          value: JSON.stringify(envelope(EventType.BatchReady, eventId, batch.correlation_id, data)),
          headers: { event_id: eventId },
        },
      ],
    });
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
  }
}
