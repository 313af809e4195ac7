/**
 * Publishes a plan's input events, recording each as invoke → ok | info.
 * A publish that errors is `info`, never `fail`: the broker may have written
 * it before the error reached us (Jepsen's indeterminate outcome).
 */
import { Kafka, logLevel, type Producer, type Message } from 'kafkajs';
import { EventType } from '@chaos-lab/contracts';
import type { HistoryRecorder } from '@chaos-lab/model';
import type { PlannedPublish } from '@chaos-lab/model';

export class Publisher implements AsyncDisposable {
  private readonly producer: Producer;

  constructor(
    brokers: readonly string[],
    private readonly recorder: HistoryRecorder,
    private readonly process = 'workload',
  ) {
    const kafka = new Kafka({
      clientId: 'lab-workload',
      brokers: [...brokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100 },
    });
    this.producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 1 });
  }

  async start(): Promise<void> {
    await this.producer.connect();
  }

  /** Sends the publishes in one request per topic; all are recorded as one group of operations. */
  async send(items: readonly PlannedPublish[]): Promise<void> {
    const now = Date.now();
    // A relative deadline becomes absolute now; the history records the event as sent.
    const events = items.map((p) =>
      p.event && p.deadlineInMs !== undefined && p.event.event_type === EventType.BatchRegistered
        ? { ...p.event, data: { ...p.event.data, deadline: new Date(now + p.deadlineInMs).toISOString() } }
        : p.event,
    );
    // Hostile bytes (valueBase64/keyBase64) go out exactly; the history keeps them exactly too, beside a
    // lossy text form that the checkers and the report can print.
    const values = items.map((p, i) => {
      if (p.valueBase64 !== undefined) return Buffer.from(p.valueBase64, 'base64');
      const event = events[i];
      return event ? JSON.stringify(event) : (p.raw ?? '');
    });
    const keys = items.map((p) =>
      p.keyBase64 === undefined ? p.key : p.keyBase64 === null ? null : Buffer.from(p.keyBase64, 'base64'),
    );
    const indices = items.map((p, i) => {
      const event = p.valueBase64 === undefined ? events[i] : undefined;
      const value = values[i]!;
      return this.recorder.invoke(this.process, {
        topic: p.topic,
        key: p.key,
        ...(event ? { event } : { raw: typeof value === 'string' ? value : value.toString('utf8') }),
        ...(p.valueBase64 !== undefined && { rawBase64: p.valueBase64 }),
        ...(p.keyBase64 !== undefined && { keyBase64: p.keyBase64 }),
        meta: {
          role: p.role,
          ...((p.raw !== undefined || p.valueBase64 !== undefined) && { poison: true }),
          ...(event?.event_type === EventType.BatchRegistered &&
            p.deadlineInMs !== undefined && { deadlineInMs: p.deadlineInMs }),
        },
      });
    });
    const byTopic = new Map<string, Message[]>();
    items.forEach((p, i) => {
      const l = byTopic.get(p.topic) ?? [];
      l.push({
        key: keys[i] ?? null,
        value: values[i]!,
        ...(p.partition !== undefined && { partition: p.partition }),
      });
      byTopic.set(p.topic, l);
    });
    try {
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      for (const i of indices) this.recorder.complete(i, 'ok');
    } catch (err) {
      for (const i of indices)
        this.recorder.complete(i, 'info', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  async stop(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
