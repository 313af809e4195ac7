/**
 * Publishes the coordinator's input events, one send per request, and
 * resolves only when the partition leader and its in-sync replicas have the
 * message (acks=-1): the HTTP reply promises exactly that.
 *
 * Retries are short on purpose: a client is waiting, and a client retry (same
 * event id) is the recovery path once a send gives up, so a broker outage
 * turns into 503s within a few seconds instead of requests hanging.
 */
import { CompressionTypes, Kafka, Partitioners, logLevel, type Admin, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { InputEvent } from '@chaos-lab/contracts';
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

  async publish(topic: string, key: string, event: InputEvent): Promise<void> {
    try {
      await this.producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: [{ key, value: JSON.stringify(event), headers: { event_id: event.event_id } }],
      });
    } catch (err) {
      this.metrics.publishErrors.inc({ event_type: event.event_type });
      throw new DependencyError('kafka', err);
    }
    this.metrics.eventsPublished.inc({ event_type: event.event_type });
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
