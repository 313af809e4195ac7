/**
 * Relays the Postgres outbox to Kafka. Every instance runs one; rows are
 * claimed with `FOR UPDATE SKIP LOCKED`, so instances share the work without
 * coordinating and a dead instance's rows are picked up by the others as
 * soon as its transaction dies with its connection.
 */
import { Kafka, logLevel, CompressionTypes, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { OutboxRow, PgBatchStore } from '../postgres/pg-store.js';
import type { Metrics } from '../../metrics.js';
import { kafkaLogCreator } from './consumer.js';

/** Commits within this window share one relay pass. */
const WAKE_WINDOW_MS = 5;

export interface RelayOptions {
  readonly brokers: string[];
  readonly clientId: string;
  /** Idempotent producer: on by default; the lab's mock broker cannot serve it (see README). */
  readonly idempotent: boolean;
  readonly pollMs: number;
  readonly batchSize: number;
}

export class OutboxRelay {
  private readonly producer: Producer;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wakeRequested = false;
  private connected = false;
  private dueAt = Number.POSITIVE_INFINITY;
  private lastGauge = 0;

  constructor(
    private readonly opts: RelayOptions,
    private readonly store: PgBatchStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    const kafka = new Kafka({
      clientId: `${opts.clientId}-relay`,
      brokers: opts.brokers,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(log.child({ component: 'kafka-producer' }), metrics.kafkaClientErrors, 'producer'),
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.producer = kafka.producer({
      idempotent: opts.idempotent,
      // An idempotent producer requires at most 5 in flight; 1 also keeps per-partition order without it.
      maxInFlightRequests: opts.idempotent ? 5 : 1,
      allowAutoTopicCreation: false,
    });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
    this.schedule(0);
  }

  /**
   * Asks for a pass soon (called after every local commit that may have
   * enqueued rows). Wakes within a short window are coalesced into one pass,
   * so a busy instance relays many rows per round trip instead of one.
   */
  wake(): void {
    if (this.running) this.wakeRequested = true;
    else if (this.dueAt - Date.now() > WAKE_WINDOW_MS) this.schedule(WAKE_WINDOW_MS);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.dueAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        const again = this.wakeRequested;
        this.wakeRequested = false;
        this.schedule(again ? WAKE_WINDOW_MS : this.opts.pollMs);
      });
    }, ms);
  }

  private async pass(): Promise<void> {
    try {
      for (;;) {
        const n = await this.store.relayOutbox(this.opts.batchSize, (rows) => this.publish(rows));
        if (n < this.opts.batchSize || this.stopped) break;
      }
      // The backlog gauge costs a query; once a second is plenty for a scrape interval.
      if (Date.now() - this.lastGauge > 1000) {
        this.lastGauge = Date.now();
        const backlog = await this.store.outboxPending();
        this.metrics.outboxPending.set(backlog.rows);
        this.metrics.outboxLag.set(backlog.oldestAgeSeconds);
      }
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox relay pass failed; will retry');
    }
  }

  private async publish(rows: OutboxRow[]): Promise<void> {
    const byTopic = new Map<string, { key: string | null; value: string; headers: Record<string, string> }[]>();
    for (const r of rows) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ key: r.message_key, value: r.payload, headers: { event_id: r.event_id } });
      byTopic.set(r.topic, list);
    }
    try {
      await this.producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (err) {
      this.metrics.dependencyErrors.inc({ dependency: 'kafka', operation: 'produce' });
      throw err;
    }
    for (const [topic, messages] of byTopic) this.metrics.outboxPublished.inc({ topic }, messages.length);
  }

  /** Finishes the pass in flight, runs one last pass, and disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.pass();
    await this.producer.disconnect();
    this.connected = false;
  }
}
