/**
 * The broker's side of the story: a reader of the input topics for a whole
 * suite session, so that at the end of a seed the lab can ask whether every
 * publish the broker acknowledged is really in its topic.
 *
 * When an acknowledged input never shows up downstream, two very different
 * things may have happened: the coordinator (or its client) skipped a message
 * it was given — a finding — or the broker lost a write it had acknowledged
 * — a broken test bed, about which the coordinator can do nothing. Reading
 * the topics tells them apart. Seen with the local mock broker: a message
 * produced to a partition while its leadership moved was acknowledged and
 * never stored.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { messageValue, publishedEvents, type HistoryEntry } from '../history/history.js';
import type { OffsetSnapshot } from './session.js';

export class InputLog implements AsyncDisposable {
  private consumer: Consumer | undefined;
  private joined = false;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Per `topic/partition`: offset → message value. */
  private readonly logs = new Map<string, Map<bigint, string>>();
  /** Per `topic/partition`: the next offset not yet read. */
  private readonly positions = new Map<string, bigint>();

  constructor(
    private readonly brokers: readonly string[],
    private readonly topics: readonly string[],
    private readonly groupId: string,
  ) {}

  async start(timeoutMs = 30_000): Promise<void> {
    await this.connect();
    const deadline = Date.now() + timeoutMs;
    while (!this.joined) {
      if (Date.now() > deadline) throw new Error(`input log reader did not join its group within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async connect(): Promise<void> {
    const kafka = new Kafka({ clientId: 'lab-input-log', brokers: [...this.brokers], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000 });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => (this.joined = true));
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart || this.stopped) return;
      clearTimeout(this.restartTimer);
      this.restartTimer = setTimeout(() => {
        void consumer
          .disconnect()
          .catch(() => {})
          .then(() => (this.stopped ? undefined : this.connect()));
      }, 200);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.topics], fromBeginning: true });
    await consumer.run({
      // Never commits: it cannot absorb OffsetCommit errors the nemesis injects for the coordinators.
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const k = `${topic}/${partition}`;
        const offset = BigInt(message.offset);
        let log = this.logs.get(k);
        if (!log) this.logs.set(k, (log = new Map()));
        log.set(offset, message.value?.toString('utf8') ?? '');
        if (offset + 1n > (this.positions.get(k) ?? 0n)) this.positions.set(k, offset + 1n);
      },
    });
  }

  /** Waits until every partition has been read up to `ends`; false if that did not happen in time. */
  async caughtUp(ends: OffsetSnapshot, timeoutMs = 15_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ([...ends].every(([k, end]) => (this.positions.get(k) ?? 0n) >= end)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The acknowledged publishes of a history that are not in their topic at or
   * after the offsets the topics had when the seed began.
   */
  missing(
    history: readonly HistoryEntry[],
    from: OffsetSnapshot,
  ): { index: number; topic: string; key: string | undefined }[] {
    const present = new Map<string, Map<string, number>>();
    for (const [k, log] of this.logs) {
      const topic = k.slice(0, k.lastIndexOf('/'));
      const start = from.get(k) ?? 0n;
      let values = present.get(topic);
      if (!values) present.set(topic, (values = new Map()));
      for (const [offset, value] of log) if (offset >= start) values.set(value, (values.get(value) ?? 0) + 1);
    }
    const lost: { index: number; topic: string; key: string | undefined }[] = [];
    for (const p of publishedEvents(history, { outcomes: ['ok'] })) {
      const values = present.get(p.topic);
      const value = messageValue(p);
      const n = values?.get(value) ?? 0;
      if (n > 0) values!.set(value, n - 1);
      else lost.push({ index: p.index, topic: p.topic, key: p.key });
    }
    return lost;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.consumer?.disconnect().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
