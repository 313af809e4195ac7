/**
 * The Kafka consumer loop.
 *
 * `eachBatch` with manual offset resolution: an offset is resolved only after
 * the work for its message is durable in Postgres (or the message is queued
 * as a dead letter in the outbox), and kafkajs commits only resolved offsets.
 * A crash therefore redelivers, never skips; every step is idempotent, so a
 * redelivery is harmless.
 *
 * A failure on one message is retried in place with backoff while it is
 * retriable (a dependency is down: the partition must wait, skipping would
 * reorder or lose). A non-retriable failure of a valid message is retried a
 * few times, then dead-lettered with the error, so one bad message never
 * blocks its partition for good.
 *
 * kafkajs gives up on some errors (`restart: false` on CRASH), e.g. the
 * INVALID_REQUEST a broker may answer to a racing SyncGroup. A service must
 * not sit idle after that, so the consumer is recreated with a backoff.
 *
 * The offsets of a batch's durable work are committed at the end of the
 * batch, retried while the broker refuses with a retriable error: kafkajs
 * commits once after a batch and, when that is refused, again only after the
 * partition's next message — never, on a partition that stays idle.
 */
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaMessage, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import {
  EventType,
  inputTopics,
  type ContentProvisioned,
  type InputEvent,
  type Topics,
  type ValidationFailed,
  type ValidationFailedV2,
} from '@chaos-lab/contracts';
import type { Coordinator, Outcome, SettleInput } from '../../domain/coordinator.js';
import { parseInput } from '../../domain/input.js';
import type { BatchStore, FailureInput, InputSource } from '../../domain/ports.js';
import { isRetriableKafkaError } from '@chaos-lab/service-kit';
import { isRetriable } from '../../errors.js';
import type { Failpoints } from '../../failpoints.js';
import type { Metrics } from '../../metrics.js';

/** Attempts at committing a batch's offsets before the error is left to kafkajs (about 10 s of backoff). */
const COMMIT_ATTEMPTS = 8;

/** While a partition is behind its end, its offsets are committed at most this often (see `commitDue`). */
const COMMIT_EVERY_MS = 250;

/** Errors that mean the group is rebalancing: kafkajs rejoins on them, so they are not retried here. */
const REBALANCE_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'FENCED_INSTANCE_ID',
]);

export interface ConsumerOptions {
  readonly brokers: string[];
  readonly clientId: string;
  readonly groupId: string;
  readonly topics: Topics;
  readonly maxWaitMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly partitionsConcurrently: number;
  /** Test-harness crash points; inert unless the lab sets COORDINATOR_FAILPOINTS. */
  readonly failpoints?: Failpoints;
  /**
   * Wraps the handling of each fetched batch: given the payload and production's handling, to call or not.
   * Only the lab's known-bad `early-offset-commit` variant sets it. Default: production's handling, as is.
   */
  readonly eachBatch?: (payload: EachBatchPayload, production: BatchHandler) => Promise<void>;
}

/** The handling of one fetched batch, as kafkajs's `eachBatch` calls it. */
export type BatchHandler = (payload: EachBatchPayload) => Promise<void>;

/** Attempts for a valid message that fails with a non-retriable error before it is dead-lettered. */
const MAX_NON_RETRIABLE_ATTEMPTS = 3;

/**
 * kafkajs logs through this. Its ERROR entries (error responses from a
 * broker, retried or not, failed connections) are also counted by component,
 * so faults on the Kafka side show up in the metrics, not only in the logs.
 */
export function kafkaLogCreator(
  log: Logger,
  errors?: { inc(labels: { component: string }): void },
  component = 'kafka',
) {
  return () =>
    ({ level, label, log: entry }: LogEntry) => {
      const { message, ...extra } = entry;
      const fields = { kafkajs: label, ...extra };
      if (level === logLevel.ERROR) errors?.inc({ component });
      if (level === logLevel.ERROR) log.error(fields, message);
      else if (level === logLevel.WARN) log.warn(fields, message);
      else log.debug(fields, message);
    };
}

export class InputConsumer {
  private consumer: Consumer | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly kafka: Kafka;
  private connected = false;

  constructor(
    private readonly opts: ConsumerOptions,
    private readonly coordinator: Coordinator,
    private readonly store: BatchStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(log.child({ component: 'kafka-consumer' }), metrics.kafkaClientErrors, 'consumer'),
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    });
  }

  /** True while a consumer is connected and has joined the group at least once. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** Consecutive crashes without a successful join in between (the restart backoff grows with it). */
  private crashStreak = 0;

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.opts.groupId,
      sessionTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: this.opts.heartbeatIntervalMs,
      maxWaitTimeInMs: this.opts.maxWaitMs,
      allowAutoTopicCreation: false,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload as { error: Error; restart: boolean };
      this.connected = false;
      this.metrics.assignedPartitions.set(0);
      if (restart || this.stopping) return;
      this.metrics.consumerRestarts.inc({ reason: error.name || 'error' });
      this.crashStreak++;
      // Jitter: members that crashed together must not rejoin together, or they race again. Backoff: a member
      // whose rejoin keeps crashing (it lands in the rebalance its own leave started) waits for the group to
      // settle before trying again, up to a session timeout.
      const delayMs = Math.min(
        (200 + Math.floor(Math.random() * 600)) * 2 ** Math.min(this.crashStreak - 1, 5),
        this.opts.sessionTimeoutMs,
      );
      this.log.warn(
        { err: error.message, streak: this.crashStreak, delayMs },
        'consumer crashed and kafkajs will not restart it; recreating it',
      );
      this.scheduleRestart(consumer, delayMs);
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.connected = true;
      this.crashStreak = 0;
      this.metrics.groupJoinedAt.set(Date.now() / 1000);
      this.metrics.assignedPartitions.set(
        Object.values(e.payload.memberAssignment).reduce((n, ps) => n + ps.length, 0),
      );
      this.log.info({ assignment: e.payload.memberAssignment }, 'joined the consumer group');
    });
    consumer.on(consumer.events.REQUEST, (e) =>
      this.metrics.kafkaRequests.inc({ component: 'consumer', api: e.payload.apiName }),
    );
    consumer.on(consumer.events.REBALANCING, () => this.metrics.assignedPartitions.set(0));
    consumer.on(consumer.events.DISCONNECT, () => {
      this.connected = false;
      this.metrics.assignedPartitions.set(0);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: inputTopics(this.opts.topics), fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConcurrently,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  private scheduleRestart(old: Consumer, delayMs = 200): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      void (async () => {
        await old.disconnect().catch(() => {});
        if (this.stopping) return;
        try {
          await this.start();
        } catch (err) {
          this.log.warn({ err: String(err) }, 'consumer restart failed; trying again');
          this.scheduleRestart(this.consumer ?? old, Math.min(delayMs * 2, 5000));
        }
      })();
    }, delayMs);
  }

  /** Stops fetching, lets the in-flight batch finish (its offsets are committed), and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.consumer?.disconnect();
    this.connected = false;
  }

  /** What kafkajs calls for each fetched batch: production's handling, or the `eachBatch` option wrapping it. */
  private eachBatch(payload: EachBatchPayload): Promise<void> {
    const production: BatchHandler = (p) => this.handleBatch(p);
    return this.opts.eachBatch ? this.opts.eachBatch(payload, production) : production(payload);
  }

  private async handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
    commitOffsetsIfNecessary,
  }: EachBatchPayload) {
    const t0 = performance.now();
    this.log.debug(
      { topic: batch.topic, partition: batch.partition, messages: batch.messages.length },
      'batch fetched',
    );
    let lastDone: string | undefined;
    const stillOwner = () => isRunning() && !isStale();
    const messages = batch.messages;
    const resolved = async (message: KafkaMessage) => {
      this.opts.failpoints?.('after-commit-before-offset');
      resolveOffset(message.offset);
      lastDone = message.offset;
      const lag = Number(batch.highWatermark) - Number(message.offset) - 1;
      this.metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(lag, 0));
    };
    for (let i = 0; i < messages.length;) {
      if (!stillOwner()) break;
      const run = this.settleableRun(batch.topic, batch.partition, messages, i);
      if (run.length >= 2) {
        // Settled as a unit; the offsets only after all of the run's work is durable, and only up to the
        // first message that is not (the consumer stopped during its retries).
        const done = await this.settleRun(batch.topic, batch.partition, run, stillOwner, heartbeat);
        for (let k = 0; k < done; k++) await resolved(run[k]!.message);
        await heartbeat();
        if (done < run.length) break;
        i += run.length;
        continue;
      }
      const message = messages[i]!;
      const done = await this.handleWithRetry(batch.topic, batch.partition, message, stillOwner, heartbeat);
      if (!done) break;
      await resolved(message);
      await heartbeat();
      i++;
    }
    if (lastDone === undefined) await commitOffsetsIfNecessary();
    else if (this.commitDue(batch.topic, batch.partition, lastDone, batch.highWatermark)) {
      await this.commitDone(batch.topic, batch.partition, lastDone, {
        commit: commitOffsetsIfNecessary,
        stillOwner: () => isRunning() && !isStale(),
        heartbeat,
      });
      this.lastCommitAt.set(`${batch.topic}/${batch.partition}`, performance.now());
    }
    this.log.debug(
      { topic: batch.topic, partition: batch.partition, ms: Math.round(performance.now() - t0) },
      'batch done',
    );
  }

  /** When each partition's offsets were last committed (performance.now()). */
  private readonly lastCommitAt = new Map<string, number>();

  /**
   * Whether a batch's offsets are committed now: always when the partition is caught up (it may stay idle, and an
   * offset left uncommitted would stay so), else at most every {@link COMMIT_EVERY_MS} — a partition behind its
   * end is fetched again at once, and a commit per fetch would cost a broker round trip per fetch. Resolved
   * offsets not yet committed are committed by kafkajs when the member stops or leaves; lost, they only mean
   * redelivery, which every step tolerates.
   */
  private commitDue(topic: string, partition: number, lastDone: string, highWatermark: string): boolean {
    if (BigInt(lastDone) + 1n >= BigInt(highWatermark)) return true;
    return performance.now() - (this.lastCommitAt.get(`${topic}/${partition}`) ?? 0) >= COMMIT_EVERY_MS;
  }

  /**
   * Commits the offset after `lastDone` now, retrying a retriable refusal (a
   * timeout, a coordinator moving) with backoff while this member still owns
   * the partition, for at most {@link COMMIT_ATTEMPTS} attempts. A rebalance
   * is left to kafkajs (it rejoins; the new owner redelivers, harmlessly).
   */
  private async commitDone(
    topic: string,
    partition: number,
    lastDone: string,
    k: {
      commit: EachBatchPayload['commitOffsetsIfNecessary'];
      stillOwner: () => boolean;
      heartbeat: () => Promise<void>;
    },
  ): Promise<void> {
    const offsets = { topics: [{ topic, partitions: [{ partition, offset: (BigInt(lastDone) + 1n).toString() }] }] };
    let delay = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        await k.commit(offsets);
        return;
      } catch (err) {
        const type = (err as { type?: unknown }).type;
        const rebalancing = typeof type === 'string' && REBALANCE_ERRORS.has(type);
        if (
          rebalancing ||
          !isRetriableKafkaError(err) ||
          attempt >= COMMIT_ATTEMPTS ||
          !k.stillOwner() ||
          this.stopping
        )
          throw err;
        this.metrics.dependencyErrors.inc({ dependency: 'kafka', operation: 'commit' });
        this.log.warn(
          { topic, partition, offset: lastDone, attempt, err: err instanceof Error ? err.message : String(err) },
          'offset commit refused; retrying',
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
      await k.heartbeat().catch(() => {});
    }
  }

  /**
   * The messages from `from` on that can be settled together: consecutive contents and validation failures
   * that parse, at most {@link MAX_RUN}. Anything else (a registration, a message that does not parse) ends
   * the run: it takes the one-message path, in its place.
   */
  private settleableRun(topic: string, partition: number, messages: readonly KafkaMessage[], from: number): RunItem[] {
    const run: RunItem[] = [];
    for (let i = from; i < messages.length && run.length < MAX_RUN; i++) {
      const message = messages[i]!;
      const parsed = parseInput(topic, message.value, this.opts.topics);
      if (!parsed.ok) break;
      const e = parsed.event;
      const source: InputSource = { topic, partition, offset: message.offset, value: message.value, key: message.key };
      let input: SettleInput;
      switch (e.event_type) {
        case EventType.BatchRegistered:
          return run;
        case EventType.ContentProvisioned:
          input = { kind: 'content', input: contentInput(e, source) };
          break;
        case EventType.ValidationFailed:
        case EventType.ValidationFailedV2:
          input = { kind: 'failure', input: failureInput(e, source) };
          break;
      }
      run.push({ message, eventType: e.event_type, input });
    }
    return run;
  }

  /**
   * Settles a run with one cache call and one store call ({@link Coordinator.settleMany}); each message that
   * path did not settle then takes the one-message path, in order, with its retries and dead letter. Returns
   * how many messages from the start of the run are durable (all of them unless the consumer stopped).
   */
  private async settleRun(
    topic: string,
    partition: number,
    run: readonly RunItem[],
    stillOwner: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<number> {
    const t0 = performance.now();
    const outcomes = await this.coordinator.settleMany(run.map((r) => r.input));
    const seconds = (performance.now() - t0) / 1000;
    let settled = 0;
    for (const [k, r] of run.entries()) {
      const outcome = outcomes[k];
      if (outcome === undefined) continue;
      settled++;
      if (r.eventType === EventType.ContentProvisioned) this.metrics.assignmentDuration.observe({ outcome }, seconds);
      this.metrics.eventsConsumed.inc({ event_type: r.eventType, outcome });
    }
    this.metrics.settledAtOnce.observe(settled);
    for (const [k, r] of run.entries()) {
      if (outcomes[k] !== undefined) continue;
      // As the one-message loop: no new message once the partition is not ours (the new owner redelivers it).
      if (!stillOwner()) return k;
      if (!(await this.handleWithRetry(topic, partition, r.message, stillOwner, heartbeat))) return k;
    }
    return run.length;
  }

  /** Returns true once the message's work is durable; false if the consumer stopped first (the message will be redelivered). */
  private async handleWithRetry(
    topic: string,
    partition: number,
    message: KafkaMessage,
    stillOwner: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    let nonRetriable = 0;
    let delay = 50;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.handle(topic, partition, message);
        return true;
      } catch (err) {
        const retriable = isRetriable(err);
        if (!retriable) nonRetriable++;
        this.log.warn(
          {
            topic,
            partition,
            offset: message.offset,
            attempt,
            retriable,
            err: err instanceof Error ? err.message : String(err),
          },
          'processing failed; retrying the message',
        );
        if (!retriable && nonRetriable >= MAX_NON_RETRIABLE_ATTEMPTS) {
          // Poison by behaviour rather than by shape: dead-letter it so the partition moves on.
          try {
            await this.deadLetter(
              topic,
              partition,
              message,
              `processing_failed: ${err instanceof Error ? err.message : String(err)}`,
              'processing_failed',
            );
            return true;
          } catch (dlqErr) {
            this.log.error({ err: String(dlqErr) }, 'could not dead-letter the message; will retry');
          }
        }
      }
      if (!stillOwner() || this.stopping) return false;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
      await heartbeat().catch(() => {});
    }
  }

  private async deadLetter(topic: string, partition: number, message: KafkaMessage, reason: string, category: string) {
    await this.store.deadLetter({
      reason,
      sourceTopic: topic,
      sourcePartition: partition,
      sourceOffset: message.offset,
      value: message.value,
      key: message.key ?? null,
    });
    this.metrics.deadLetters.inc({ reason: category });
    this.metrics.eventsConsumed.inc({ event_type: 'invalid', outcome: 'dead_lettered' });
    this.log.warn({ topic, partition, offset: message.offset, reason }, 'message dead-lettered');
  }

  private async handle(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    const parsed = parseInput(topic, message.value, this.opts.topics);
    if (!parsed.ok) return this.deadLetter(topic, partition, message, parsed.reason, parsed.category);
    const event = parsed.event;
    const timer =
      event.event_type === EventType.ContentProvisioned ? this.metrics.assignmentDuration.startTimer() : undefined;
    const outcome = await this.dispatch(event, {
      topic,
      partition,
      offset: message.offset,
      value: message.value,
      key: message.key,
    });
    timer?.({ outcome });
    this.metrics.eventsConsumed.inc({ event_type: event.event_type, outcome });
  }

  private dispatch(e: InputEvent, source: InputSource): Promise<Outcome> {
    switch (e.event_type) {
      case EventType.BatchRegistered:
        return this.coordinator.registerBatch({
          batchId: e.data.batch_id,
          essayIds: e.data.essay_ids,
          deadline: e.data.deadline ? new Date(e.data.deadline) : undefined,
          correlationId: e.correlation_id,
        });
      case EventType.ContentProvisioned:
        return this.coordinator.provisionContent(contentInput(e, source));
      case EventType.ValidationFailed:
      case EventType.ValidationFailedV2:
        return this.coordinator.validationFailed(failureInput(e, source));
    }
  }
}

/** The most messages settled as one unit (a fetch of 1 MB holds about a thousand contents). */
const MAX_RUN = 500;

interface RunItem {
  readonly message: KafkaMessage;
  readonly eventType: EventType;
  readonly input: SettleInput;
}

function contentInput(e: ContentProvisioned, source: InputSource) {
  return {
    batchId: e.data.batch_id,
    textStorageId: e.data.text_storage_id,
    originalFileName: e.data.original_file_name,
    correlationId: e.correlation_id,
    source,
  };
}

function failureInput(e: ValidationFailed | ValidationFailedV2, source: InputSource): FailureInput {
  return {
    batchId: e.data.batch_id,
    originalFileName: e.data.original_file_name,
    ...(e.event_type === EventType.ValidationFailedV2 && { uploadId: e.data.upload_id }),
    reason: e.data.reason,
    correlationId: e.correlation_id,
    source,
  };
}
