/**
 * Reads every output topic from the beginning and records each message in
 * the history as an `observe` entry, parsed against the contract when it can
 * be. The observer is the lab's eye on what the system under test said.
 *
 * One observer serves a whole suite session: each seed attaches its own
 * history, and `accept` keeps what belongs to that seed (see the suite
 * runner); the rest is counted as `skipped`. Joining a new consumer group
 * costs the mock broker's initial rebalance delay (3 s), paid once.
 */
import { OutputEvent } from '@chaos-lab/contracts';
import type { HistoryRecorder } from '@chaos-lab/model';
import { TopicReader, type ReadMessage } from './topic-reader.js';
import type { OffsetSnapshot } from './offsets.js';

/** One message read from an output topic; `event` when it parsed against the contract. */
export interface ObservedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly event: OutputEvent | undefined;
}

/** Where the observed messages of one seed go. */
export interface ObserverSink {
  readonly recorder: HistoryRecorder;
  readonly onEvent?: (e: OutputEvent) => void;
  readonly accept?: (m: ObservedMessage) => boolean;
}

export class OutputObserver implements AsyncDisposable {
  private readonly reader: TopicReader;
  private sink: ObserverSink | undefined;
  /** Messages recorded / skipped since the current sink was attached. */
  count = 0;
  skipped = 0;
  /** topic/partition → the offset after the last message read (whatever the sink). */
  private readonly positions = new Map<string, bigint>();

  constructor(brokers: readonly string[], topics: readonly string[], groupId: string) {
    this.reader = new TopicReader(brokers, topics, groupId, 'lab-observer', (m) => this.read(m));
  }

  /** Sends what is read from now on to `sink` (and nothing to the previous one). */
  attach(sink: ObserverSink): void {
    this.sink = sink;
    this.count = 0;
    this.skipped = 0;
  }

  detach(): void {
    this.sink = undefined;
  }

  start(timeoutMs = 30_000): Promise<void> {
    return this.reader.start(timeoutMs);
  }

  /**
   * Waits until the observer has read every output partition up to `ends`; false if it has not within
   * `timeoutMs`. The observer is the lab's instrument: one that stopped reading must void the run, not make the
   * coordinator look as if it said nothing.
   */
  async caughtUp(ends: OffsetSnapshot, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.behind(ends) === 0n) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** How many messages the observer has not read up to `ends`. */
  behind(ends: OffsetSnapshot): bigint {
    let n = 0n;
    for (const [k, end] of ends) {
      const at = this.positions.get(k) ?? 0n;
      if (end > at) n += end - at;
    }
    return n;
  }

  private read({ topic, partition, message }: ReadMessage): void {
    const k = `${topic}/${partition}`;
    const next = BigInt(message.offset) + 1n;
    if (next > (this.positions.get(k) ?? 0n)) this.positions.set(k, next);
    const sink = this.sink;
    if (!sink) return;
    const raw = message.value?.toString('utf8') ?? '';
    let event: OutputEvent | undefined;
    try {
      const r = OutputEvent.safeParse(JSON.parse(raw));
      if (r.success) event = r.data;
    } catch {
      // recorded raw below: a malformed output is itself a finding for the checkers
    }
    if (sink.accept && !sink.accept({ topic, partition, offset: message.offset, event })) {
      this.skipped++;
      return;
    }
    this.count++;
    const bytes = (message.value?.length ?? 0) + (message.key?.length ?? 0);
    sink.recorder.observe(
      event
        ? { topic, partition, offset: message.offset, event, bytes }
        : { topic, partition, offset: message.offset, raw, bytes },
    );
    if (event) sink.onEvent?.(event);
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    await this.reader.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
