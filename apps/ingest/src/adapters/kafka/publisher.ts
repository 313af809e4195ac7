/**
 * Publishes the coordinator's input events for the outbox relay, a claimed
 * batch of rows per send, and resolves only when the partition leaders and
 * their in-sync replicas have every message (acks=-1): only then are the rows
 * marked published.
 *
 * Retries are short: the outbox keeps every row, so a send that gives up is
 * retried by the relay's next pass, and a pass does not hold its rows long.
 */
import { CompressionTypes, Kafka, Partitioners, logLevel, type Admin, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { InputEvent } from '@chaos-lab/contracts';
import { isRetriableKafkaError } from '@chaos-lab/service-kit';
import { DependencyError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import type { EventPublisher } from '../../domain/ports.js';

export interface PublisherOptions {
  readonly brokers: string[];
  readonly clientId: string;
  /** Idempotent producer: on by default; the lab's mock broker cannot serve it. */
  readonly idempotent: boolean;
}

/** Bound on a readiness probe of the cluster. */
const PING_TIMEOUT_MS = 2000;

/** kafkajs log entries into the service's pino logger, as structured fields. */
function logCreator(log: Logger) {
  return () =>
    ({ level, label, log: entry }: LogEntry) => {
      const { message, ...extra } = entry;
      const fields = { kafkajs: label, ...extra };
      if (level === logLevel.ERROR) log.error(fields, message);
      else if (level === logLevel.WARN) log.warn(fields, message);
      else log.debug(fields, message);
    };
}

export class KafkaPublisher implements EventPublisher {
  private readonly producer: Producer;
  private readonly admin: Admin;
  private connected = false;

  constructor(
    opts: PublisherOptions,
    private readonly metrics: Metrics,
    log: Logger,
  ) {
    const kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      logLevel: logLevel.WARN,
      logCreator: logCreator(log),
      connectionTimeout: 1000,
      requestTimeout: 5000,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    this.producer = kafka.producer({
      idempotent: opts.idempotent,
      // Without idempotence, concurrent requests need not be ordered against each other: each reply
      // waits for its own ack, so a client that waits before its next request gets its order kept.
      ...(opts.idempotent ? { maxInFlightRequests: 5 } : {}),
      allowAutoTopicCreation: false,
      // kafkajs 2's default (murmur2, as the Java client); naming it silences kafkajs's warning about the change.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.producer.on(this.producer.events.DISCONNECT, () => (this.connected = false));
    this.producer.on(this.producer.events.CONNECT, () => (this.connected = true));
    this.admin = kafka.admin();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
    await this.admin.connect();
  }

  async publishAll(messages: readonly { topic: string; key: string; event: InputEvent }[]): Promise<void> {
    if (messages.length === 0) return;
    const byTopic = new Map<string, { key: string; value: string; headers: { event_id: string } }[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic) ?? [];
      list.push({ key: m.key, value: JSON.stringify(m.event), headers: { event_id: m.event.event_id } });
      byTopic.set(m.topic, list);
    }
    try {
      await this.producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })),
      });
    } catch (err) {
      for (const m of messages) this.metrics.publishErrors.inc({ event_type: m.event.event_type });
      throw new DependencyError('kafka', err, isRetriableKafkaError(err));
    }
    for (const m of messages) this.metrics.eventsPublished.inc({ event_type: m.event.event_type });
  }

  /** A metadata round trip to some broker; rejects when none answers in time or the producer is down. */
  async ping(): Promise<void> {
    if (!this.connected) throw new DependencyError('kafka', 'producer not connected');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.admin.describeCluster(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no broker answered within ${PING_TIMEOUT_MS} ms`)),
            PING_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      throw err instanceof DependencyError ? err : new DependencyError('kafka', err);
    } finally {
      clearTimeout(timer);
    }
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
    this.connected = false;
  }
}
