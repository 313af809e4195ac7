/**
 * Reads topics from the beginning in a consumer group of its own, for as
 * long as it runs: the lab's way of watching a topic (the output observer,
 * the input log). It never commits offsets — it needs none, and so it cannot
 * absorb OffsetCommit errors the nemesis injects for the coordinators — and
 * when kafkajs gives up on a consumer (the mock broker's SyncGroup race ends
 * in a CRASH with restart=false) it makes a new one, so the lab never goes
 * blind. Its fetch retries back off to 1 s at most and outlast a broker
 * fault, so a fault blinds it for about as long as the fault lasts.
 */
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { LabTimeoutError } from '../errors.js';

export interface ReadMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

export class TopicReader implements AsyncDisposable {
  private consumer: Consumer | undefined;
  private stopped = false;
  private joined = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly brokers: readonly string[],
    private readonly topics: readonly string[],
    private readonly groupId: string,
    private readonly clientId: string,
    private readonly onMessage: (m: ReadMessage) => void,
  ) {}

  /** Resolves once the reader has joined its group (and so is reading). */
  async start(timeoutMs = 30_000): Promise<void> {
    await this.connect();
    const deadline = Date.now() + timeoutMs;
    while (!this.joined) {
      if (Date.now() > deadline) throw new LabTimeoutError(`${this.clientId} joining its group`, timeoutMs);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async connect(): Promise<void> {
    const kafka = new Kafka({
      clientId: this.clientId,
      brokers: [...this.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
    });
    const consumer = kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      // The fetch loop's own retries (a consumer does not inherit the client's): kafkajs' default of 5 runs out
      // within about 2 s of a broker down; the consumer then crashes, and its rejoin waits out its old member's
      // session — the lab's instrument blind for 9–17 s after the broker came back (fuzz seeds 37, 63). Short
      // backoffs, and enough of them to outlast any broker fault of the lab.
      retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 40 },
    });
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
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => this.onMessage({ topic, partition, message }),
    });
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
