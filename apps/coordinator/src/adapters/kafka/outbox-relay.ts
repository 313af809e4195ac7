/**
 * Relays the Postgres outbox to Kafka. Every instance runs one; rows are
 * claimed with `FOR UPDATE SKIP LOCKED`, so instances share the work without
 * coordinating and a dead instance's rows are picked up by the others as
 * soon as its transaction dies with its connection.
 *
 * Rows are always claimed oldest first, so a row that can never be published
 * would be claimed first by every pass for ever and stop every output behind
 * it. The relay therefore sets such a row aside, with its reason: a row over
 * the broker's `message.max.bytes` at once (it will never fit), a row the
 * broker refuses with a non-retriable error after {@link REFUSALS_BEFORE_SET_ASIDE}
 * attempts. Retriable errors (a broker down, a leader moving) are never held
 * against a row: the pass stops and everything is retried.
 *
 * Outputs are produced gzip-compressed ({@link OUTPUT_COMPRESSION}): a broker
 * checks the compressed record batch, and a `batch.ready` of the contract's
 * maximum is ≈ 1.6 MB of JSON but ≈ 0.6 MB compressed. The relay measures each
 * row the same way before sending it, so that a broker accepting more (the
 * lab's) still sees only what a real one would accept.
 */
import { isRetriableKafkaError } from '@chaos-lab/service-kit';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Kafka, logLevel, CompressionTypes, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { OUTPUT_COMPRESSION } from '@chaos-lab/contracts';
import type { Outbox, OutboxRow } from '../../domain/outbox-port.js';
import type { Metrics } from '../../metrics.js';
import { kafkaLogCreator } from './consumer.js';

const gzip = promisify(gzipCallback);

/** Commits within this window share one relay pass. */
const WAKE_WINDOW_MS = 5;

/** Non-retriable send failures of one row before it is set aside (the first may be a broker's passing state). */
export const REFUSALS_BEFORE_SET_ASIDE = 3;

/** The record batch header (61 bytes), which `message.max.bytes` counts besides the records. */
const BATCH_HEADER_BYTES = 61;

/**
 * A record's framing beyond its key and value, as an upper bound: length, attributes, timestamp and offset
 * deltas, and the `event_id` header (8 + 36 bytes and their lengths).
 */
const RECORD_FRAMING_BYTES = 96;

const COMPRESSION: Record<typeof OUTPUT_COMPRESSION, CompressionTypes> = { gzip: CompressionTypes.GZIP };

export interface RelayOptions {
  readonly brokers: string[];
  readonly clientId: string;
  /** Idempotent producer: on by default; the lab's mock broker cannot serve it (see README). */
  readonly idempotent: boolean;
  readonly pollMs: number;
  /** The longest poll interval once passes find nothing (see `pollDelay`). */
  readonly idlePollMs: number;
  readonly batchSize: number;
  /**
   * The broker's `message.max.bytes`: a row whose gzip-compressed value plus key and framing exceed it is
   * set aside instead of sent, and one send carries at most this much. Default (in the configuration):
   * `KAFKA_MESSAGE_MAX_BYTES`, Kafka's default.
   */
  readonly maxMessageBytes: number;
}

interface Measured {
  readonly row: OutboxRow;
  /** An upper bound of what the row adds to a compressed record batch. */
  readonly bytes: number;
}

/** An outcome being filled in by one pass, with what to report of each set-aside row once it is committed. */
interface Outcome {
  published: string[];
  failed: { id: string; error: string }[];
  setAside: { id: string; reason: string; attempted: boolean }[];
  report: { reason: 'too_large' | 'refused'; fields: Record<string, unknown> }[];
}

/** kafkajs marks every error retriable or not, and wraps the cause when its own retries run out. */
export const isRetriableProduceError = isRetriableKafkaError;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * An upper bound of the compressed size of a value: deflate grows incompressible input by at most 5 bytes
 * per 16 KiB block, plus the gzip wrapper's 18 (zlib's deflateBound). Below the budget, no need to compress.
 */
function compressedBound(bytes: number): number {
  return bytes + (bytes >> 10) + 64;
}

export class OutboxRelay {
  private readonly producer: Producer;
  private readonly budget: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private stalled = false;
  private wakeRequested = false;
  private connected = false;
  private dueAt = Number.POSITIVE_INFINITY;
  private lastGauge = 0;
  /** Rows the last pass claimed. */
  private lastPassRows = 0;
  /** Passes in a row that found nothing and were not asked for: the poll backs off with them. */
  private idlePasses = 0;

  constructor(
    private readonly opts: RelayOptions,
    private readonly outbox: Outbox,
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
    this.producer.on(this.producer.events.REQUEST, (e) =>
      metrics.kafkaRequests.inc({ component: 'producer', api: e.payload.apiName }),
    );
    this.budget = opts.maxMessageBytes - BATCH_HEADER_BYTES;
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
        const again = this.wakeRequested && !this.stalled;
        this.wakeRequested = false;
        this.idlePasses = again || this.stalled || this.lastPassRows > 0 ? 0 : this.idlePasses + 1;
        this.schedule(again ? WAKE_WINDOW_MS : this.pollDelay());
      });
    }, ms);
  }

  /**
   * The next poll: `pollMs` while there is work or a failure to retry, then twice as long after each pass in a
   * row that found nothing, up to `idlePollMs`. A poll only finds rows this instance was not woken for (those
   * of an instance that died, or whose relay is down): its own commits wake it at once, whatever the delay.
   */
  private pollDelay(): number {
    return Math.min(
      this.opts.pollMs * 2 ** Math.min(this.idlePasses, 16),
      Math.max(this.opts.idlePollMs, this.opts.pollMs),
    );
  }

  private async pass(): Promise<void> {
    this.stalled = false;
    this.lastPassRows = 0;
    try {
      for (;;) {
        let outcome: Outcome | undefined;
        const n = await this.outbox.relayOutbox(
          this.opts.batchSize,
          async (rows) => (outcome = await this.publish(rows)),
        );
        // Only now is a set-aside row set aside: a failed commit leaves it to be claimed (and reported) again.
        for (const { reason, fields } of outcome?.report ?? []) {
          this.metrics.outboxSetAside.inc({ reason });
          this.log.error(fields, 'outbox row set aside: it will not be published');
        }
        this.lastPassRows += n;
        if (n < this.opts.batchSize || this.stopped || this.stalled) break;
      }
      // The backlog gauges cost a query; once a second is plenty for a scrape interval.
      if (Date.now() - this.lastGauge > 1000) {
        this.lastGauge = Date.now();
        const backlog = await this.outbox.outboxBacklog();
        this.metrics.outboxPending.set(backlog.rows);
        this.metrics.outboxLag.set(backlog.oldestAgeSeconds);
        this.metrics.outboxSetAsideRows.set(backlog.setAside);
      }
    } catch (err) {
      this.log.warn({ err: messageOf(err) }, 'outbox relay pass failed; will retry');
    }
  }

  /**
   * Sends the claimed rows, in order, in as few sends as fit the broker's
   * limit, and says what became of each. A retriable failure stops the pass:
   * what was sent is recorded, the rest is claimed again on the next pass.
   */
  private async publish(rows: OutboxRow[]): Promise<Outcome> {
    const outcome: Outcome = { published: [], failed: [], setAside: [], report: [] };
    const sendable: Measured[] = [];
    for (const row of rows) {
      const bytes = await this.measure(row);
      if (bytes <= this.budget) sendable.push({ row, bytes });
      else
        this.setAside(outcome, row, 'too_large', false, {
          detail: `${bytes} bytes gzip-compressed with its key and framing, over the broker's limit of ${this.opts.maxMessageBytes} (message.max.bytes)`,
          bytes,
        });
    }
    // Summed bounds per send keep every partition's record batch within the limit, wherever the key lands.
    let chunk: Measured[] = [];
    let chunkBytes = 0;
    for (const m of sendable) {
      if (chunk.length > 0 && chunkBytes + m.bytes > this.budget) {
        if (!(await this.send(chunk, outcome))) return outcome;
        chunk = [];
        chunkBytes = 0;
      }
      chunk.push(m);
      chunkBytes += m.bytes;
    }
    if (chunk.length > 0) await this.send(chunk, outcome);
    return outcome;
  }

  /** What the row adds to a compressed record batch, at most. */
  private async measure(row: OutboxRow): Promise<number> {
    const key = row.message_key === null ? 0 : Buffer.byteLength(row.message_key);
    const raw = Buffer.byteLength(row.payload);
    const value =
      compressedBound(raw) + key + RECORD_FRAMING_BYTES <= this.budget ? raw : (await gzip(row.payload)).length;
    return value + key + RECORD_FRAMING_BYTES;
  }

  /**
   * Sends the rows in one request per broker. When the broker refuses it
   * for good, the error does not say which row was the cause: the rows are
   * then sent one by one, so only the culprit is held back. Returns false
   * when the pass should stop (a retriable failure).
   */
  private async send(chunk: readonly Measured[], outcome: Outcome): Promise<boolean> {
    const byTopic = new Map<string, { key: string | null; value: string; headers: Record<string, string> }[]>();
    for (const { row } of chunk) {
      const list = byTopic.get(row.topic) ?? [];
      list.push({ key: row.message_key, value: row.payload, headers: { event_id: row.event_id } });
      byTopic.set(row.topic, list);
    }
    try {
      await this.producer.sendBatch({
        acks: -1,
        compression: COMPRESSION[OUTPUT_COMPRESSION],
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (err) {
      this.metrics.dependencyErrors.inc({ dependency: 'kafka', operation: 'produce' });
      if (isRetriableProduceError(err)) {
        this.stalled = true;
        this.log.warn({ err: messageOf(err), rows: chunk.length }, 'produce failed (retriable); the rows are retried');
        return false;
      }
      if (chunk.length > 1) {
        for (const m of chunk) if (!(await this.send([m], outcome))) return false;
        return true;
      }
      const row = chunk[0]!.row;
      const attempts = row.publish_attempts + 1;
      if (attempts >= REFUSALS_BEFORE_SET_ASIDE)
        this.setAside(outcome, row, 'refused', true, {
          detail: `refused by the broker ${attempts} times, non-retriably; last: ${messageOf(err)}`,
          attempts,
        });
      else {
        outcome.failed.push({ id: row.id, error: messageOf(err) });
        this.log.warn(
          { outboxId: row.id, eventId: row.event_id, topic: row.topic, attempts, err: messageOf(err) },
          'produce refused (non-retriable); the row is retried on a later pass',
        );
      }
      return true;
    }
    for (const { row } of chunk) outcome.published.push(row.id);
    for (const [topic, messages] of byTopic) this.metrics.outboxPublished.inc({ topic }, messages.length);
    return true;
  }

  private setAside(
    outcome: Outcome,
    row: OutboxRow,
    reason: 'too_large' | 'refused',
    attempted: boolean,
    fields: { detail: string; bytes?: number; attempts?: number },
  ): void {
    outcome.setAside.push({ id: row.id, reason: `${reason}: ${fields.detail}`, attempted });
    outcome.report.push({
      reason,
      fields: {
        outboxId: row.id,
        eventId: row.event_id,
        topic: row.topic,
        messageKey: row.message_key,
        reason,
        detail: fields.detail,
        ...(fields.bytes === undefined ? {} : { bytes: fields.bytes, limit: this.opts.maxMessageBytes }),
        ...(fields.attempts === undefined ? {} : { attempts: fields.attempts }),
      },
    });
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
