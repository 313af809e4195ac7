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
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { OutputEvent } from '@chaos-lab/contracts';
import type { HistoryRecorder } from '../history/history.js';

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
  private consumer: Consumer | undefined;
  private stopped = false;
  private joined = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private sink: ObserverSink | undefined;
  /** Messages recorded / skipped since the current sink was attached. */
  count = 0;
  skipped = 0;

  constructor(
    private readonly brokers: readonly string[],
    private readonly topics: readonly string[],
    private readonly groupId: string,
  ) {}

  /** Sends what is read from now on to `sink` (and nothing to the previous one). */
  attach(sink: ObserverSink): void {
    this.sink = sink;
    this.count = 0;
    this.skipped = 0;
  }

  detach(): void {
    this.sink = undefined;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    await this.connect();
    const deadline = Date.now() + timeoutMs;
    while (!this.joined) {
      if (Date.now() > deadline) throw new Error(`output observer did not join its group within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async connect(): Promise<void> {
    const kafka = new Kafka({ clientId: 'lab-observer', brokers: [...this.brokers], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000 });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => (this.joined = true));
    consumer.on(consumer.events.CRASH, (e) => {
      // The mock broker's SyncGroup race makes kafkajs give up; the observer must not go blind.
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
      // The observer reads from the beginning in its own group and never needs its offsets; not committing also
      // keeps it from consuming OffsetCommit errors the nemesis injects for the coordinators.
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
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
        sink.recorder.observe(
          event
            ? { topic, partition, offset: message.offset, event }
            : { topic, partition, offset: message.offset, raw },
        );
        if (event) sink.onEvent?.(event);
      },
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sink = undefined;
    clearTimeout(this.restartTimer);
    await this.consumer?.disconnect().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
