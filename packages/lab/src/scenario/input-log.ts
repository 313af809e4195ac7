/**
 * The broker's side of the story: a reader of the input topics for a whole
 * suite session, so that at the end of a seed the lab can ask whether every
 * publish the broker acknowledged is really in its topic.
 *
 * When an acknowledged input never shows up downstream, two very different
 * things may have happened: the coordinator (or its client) skipped a message
 * it was given — a finding — or the broker lost a write it had acknowledged
 * — a broken test bed, about which the coordinator can do nothing. Reading
 * the topics tells them apart. Seen in 4 of 100 fuzz seeds before kafkajs was
 * patched: a send retried after one broker failed resolved without storing
 * some of its messages (kafkajs placed them anew on the retry, on a broker that
 * had already answered; `packages/lab/src/kafka/kafkajs-produce-retry.test.ts`).
 * The lab's publishes go through the same client, so the audit stays.
 */
import { messageValue, publishedEvents, type HistoryEntry } from '@chaos-lab/model';
import type { OffsetSnapshot } from './offsets.js';
import { TopicReader, type ReadMessage } from './topic-reader.js';

export class InputLog implements AsyncDisposable {
  private readonly reader: TopicReader;
  /** Per `topic/partition`: offset → message value. */
  private readonly logs = new Map<string, Map<bigint, string>>();
  /** Per `topic/partition`: the next offset not yet read. */
  private readonly positions = new Map<string, bigint>();

  constructor(brokers: readonly string[], topics: readonly string[], groupId: string) {
    this.reader = new TopicReader(brokers, topics, groupId, 'lab-input-log', (m) => this.read(m));
  }

  start(timeoutMs = 30_000): Promise<void> {
    return this.reader.start(timeoutMs);
  }

  private read({ topic, partition, message }: ReadMessage): void {
    const k = `${topic}/${partition}`;
    const offset = BigInt(message.offset);
    let log = this.logs.get(k);
    if (!log) this.logs.set(k, (log = new Map()));
    log.set(offset, message.value?.toString('utf8') ?? '');
    if (offset + 1n > (this.positions.get(k) ?? 0n)) this.positions.set(k, offset + 1n);
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

  /** The values read from `topic/partition` at offsets ≥ `from`, in offset order. */
  valuesFrom(topicPartition: string, from: bigint): { offset: bigint; value: string }[] {
    const log = this.logs.get(topicPartition);
    if (!log) return [];
    return [...log]
      .filter(([o]) => o >= from)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([offset, value]) => ({ offset, value }));
  }

  async stop(): Promise<void> {
    await this.reader.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
