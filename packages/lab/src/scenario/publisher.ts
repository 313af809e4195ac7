/**
 * Publishes a plan's input events, recording each as invoke → ok | info.
 * A publish that errors is `info`, never `fail`: the broker may have written
 * it before the error reached us (Jepsen's indeterminate outcome).
 */
import { Kafka, logLevel, type Producer, type Message } from 'kafkajs';
import type { HistoryRecorder } from '../history/history.js';
import type { PlannedPublish } from '../workload/assignment-workload.js';

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
    const indices = items.map((p) =>
      this.recorder.invoke(this.process, { topic: p.topic, key: p.key, event: p.event, meta: { role: p.role } }),
    );
    const byTopic = new Map<string, Message[]>();
    for (const p of items) {
      const l = byTopic.get(p.topic) ?? [];
      l.push({
        key: p.key,
        value: JSON.stringify(p.event),
        ...(p.partition !== undefined && { partition: p.partition }),
      });
      byTopic.set(p.topic, l);
    }
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
