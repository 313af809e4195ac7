/**
 * Builders for checker tests: hand-made histories and final states.
 *
 * {@link LabSim} plays an *ideal* coordinator: each input you feed it is
 * recorded as a publish (invoke + completion) and, when delivered, applied to
 * a model of Postgres and Redis with the matching output events observed. A
 * test starts from such a correct run (which every checker must accept) and
 * then breaks exactly one thing — a Postgres row, a Redis map, an extra
 * observed event — to show the checker catches it. Low-level methods
 * (`publish`, `observe`, the `ev`/`input` factories) build anomalies by hand.
 *
 * Not a test file itself; used only by `*.test.ts`.
 */
import { EventType, derivedEventId, eventIds, topicFor, topics } from '@chaos-lab/contracts';
import type {
  AssignedEssay,
  BatchReady,
  BatchRegistered,
  BatchTimedOut,
  ContentProvisioned,
  DeadLetter,
  ExcessContent,
  ExcessReason,
  InputEvent,
  OutputEvent,
  SlotAssigned,
  ValidationFailed,
  ValidationFailedV2,
  ValidationFailure,
} from '@chaos-lab/contracts';
import type { HistoryEntry, OpOutcome, PublishMeta } from '../history/history.js';
import type { CheckerInput, FinalState, PgBatch, PgSlot, RedisBatch } from './types.js';

export const TOPICS = topics('');
const EPOCH = Date.parse('2025-01-01T00:00:00Z');
let inputSeq = 0;

function envelope(t: number) {
  return { correlation_id: 'test', occurred_at: new Date(EPOCH + t).toISOString() };
}

/** Input event factories (fresh random-looking but deterministic event ids). */
export const input = {
  registered(batch_id: string, essay_ids: string[]): BatchRegistered {
    return {
      event_id: derivedEventId('test-input', String(inputSeq++)),
      event_type: EventType.BatchRegistered,
      ...envelope(0),
      data: { batch_id, essay_ids },
    };
  },
  content(
    batch_id: string,
    text_storage_id: string,
    original_file_name = `${text_storage_id}.txt`,
  ): ContentProvisioned {
    return {
      event_id: derivedEventId('test-input', String(inputSeq++)),
      event_type: EventType.ContentProvisioned,
      ...envelope(0),
      data: { batch_id, text_storage_id, original_file_name },
    };
  },
  failureV2(
    batch_id: string,
    upload_id: string,
    original_file_name: string,
    reason = 'unreadable',
  ): ValidationFailedV2 {
    return {
      event_id: derivedEventId('test-input', String(inputSeq++)),
      event_type: EventType.ValidationFailedV2,
      ...envelope(0),
      data: { batch_id, upload_id, original_file_name, reason },
    };
  },
  failure(batch_id: string, original_file_name: string, reason = 'unreadable'): ValidationFailed {
    return {
      event_id: derivedEventId('test-input', String(inputSeq++)),
      event_type: EventType.ValidationFailed,
      ...envelope(0),
      data: { batch_id, original_file_name, reason },
    };
  },
};

/** Output event factories; ids default to the contract's derived ids. */
export const ev = {
  slotAssigned(
    batch_id: string,
    essay_id: string,
    text_storage_id: string,
    original_file_name = `${text_storage_id}.txt`,
    id?: string,
  ): SlotAssigned {
    return {
      event_id: id ?? eventIds.slotAssigned(batch_id, text_storage_id),
      event_type: EventType.SlotAssigned,
      ...envelope(0),
      data: { batch_id, essay_id, text_storage_id, original_file_name },
    };
  },
  excess(
    batch_id: string,
    text_storage_id: string,
    reason: ExcessReason = 'no_free_slot',
    original_file_name = `${text_storage_id}.txt`,
  ): ExcessContent {
    return {
      event_id: eventIds.excess(batch_id, text_storage_id),
      event_type: EventType.ExcessContent,
      ...envelope(0),
      data: { batch_id, text_storage_id, original_file_name, reason },
    };
  },
  ready(
    batch_id: string,
    essays: AssignedEssay[],
    validation_failures: ValidationFailure[] = [],
    id?: string,
  ): BatchReady {
    return {
      event_id: id ?? eventIds.batchReady(batch_id),
      event_type: EventType.BatchReady,
      ...envelope(0),
      data: { batch_id, essays, validation_failures },
    };
  },
  timedOut(
    batch_id: string,
    essays: AssignedEssay[],
    validation_failures: ValidationFailure[],
    missing_essay_ids: string[],
    id?: string,
  ): BatchTimedOut {
    return {
      event_id: id ?? eventIds.batchTimedOut(batch_id),
      event_type: EventType.BatchTimedOut,
      ...envelope(0),
      data: { batch_id, essays, validation_failures, missing_essay_ids },
    };
  },
  deadLetter(
    source_topic: string,
    source_partition: number,
    source_offset: string,
    raw: string,
    reason = 'invalid',
  ): DeadLetter {
    return {
      event_id: eventIds.deadLetter(source_topic, source_partition, source_offset),
      event_type: EventType.DeadLetter,
      ...envelope(0),
      data: { reason, source_topic, source_partition, source_offset, raw },
    };
  },
  /** The dead letter of a valid input given up because its batch was never registered. */
  orphanDeadLetter(
    batchId: string,
    source: { topic: string; partition: number; offset: string } | { kind: 'content' | 'failure'; inputKey: string },
    raw = '',
  ): DeadLetter {
    const known = 'topic' in source;
    return {
      event_id: known
        ? eventIds.deadLetter(source.topic, source.partition, source.offset)
        : eventIds.orphan(batchId, source.kind, source.inputKey),
      event_type: EventType.DeadLetter,
      ...envelope(0),
      data: {
        reason: `batch ${batchId} was not registered within 15 s of this input`,
        source_topic: known ? source.topic : TOPICS.contentProvisioned,
        source_partition: known ? source.partition : -1,
        source_offset: known ? source.offset : '-1',
        raw,
        unregistered_batch_id: batchId,
      },
    };
  },
};

export interface PublishOptions {
  /** `none`: invoked, never completed (counts as info). */
  outcome?: OpOutcome | 'none';
  meta?: PublishMeta;
  topic?: string;
  /** Broker ack recorded on an ok completion; default: the next offset of the topic's partition 0. */
  partition?: number;
  offset?: string;
  process?: string;
}

export interface InputOptions {
  outcome?: OpOutcome | 'none';
  /** Whether the (ideal) coordinator processes a publish whose outcome is info/none. Default true. */
  delivered?: boolean;
}

/** An ideal coordinator plus a recorder, producing a {@link CheckerInput}. */
export class LabSim {
  readonly history: HistoryEntry[] = [];
  readonly final: FinalState = {
    postgres: { batches: [], slots: [], excess: [], pending: [] },
    redis: { batches: [] },
  };
  private time = 0;
  private nextIndex = 0;
  private readonly offsets = new Map<string, number>();
  private readonly reasons = new Map<string, string>();

  get input(): CheckerInput {
    return { history: this.history, final: this.final };
  }

  /** The time of the latest entry so far (a test's way to say "the entry just recorded"). */
  get lastTime(): number {
    return this.history.at(-1)?.time ?? 0;
  }

  private tick(): number {
    return ++this.time;
  }

  private nextOffset(topic: string): string {
    const n = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, n + 1);
    return String(n);
  }

  // ---- low level ------------------------------------------------------------

  /** Records a publish of an event (or of a raw value) and its completion; returns its index. */
  publish(event: InputEvent | { raw: string }, opts: PublishOptions = {}): number {
    const index = this.nextIndex++;
    const process = opts.process ?? 'client-0';
    const topic = opts.topic ?? ('raw' in event ? TOPICS.contentProvisioned : topicFor(TOPICS, event.event_type));
    this.history.push({
      type: 'invoke',
      f: 'publish',
      process,
      index,
      time: this.tick(),
      topic,
      ...('raw' in event ? { raw: event.raw } : { event }),
      ...(opts.meta ? { meta: opts.meta } : {}),
    });
    const outcome = opts.outcome ?? 'ok';
    if (outcome === 'none') return index;
    const ack =
      outcome === 'ok' ? { partition: opts.partition ?? 0, offset: opts.offset ?? this.nextOffset(topic) } : {};
    this.history.push({
      type: outcome,
      f: 'publish',
      process,
      index,
      time: this.tick(),
      ...ack,
      ...(outcome === 'fail' ? { error: 'broker said no' } : {}),
    });
    return index;
  }

  /** Records `times` deliveries of an output event. */
  observe(event: OutputEvent, times = 1): void {
    const topic = topicFor(TOPICS, event.event_type);
    for (let i = 0; i < times; i++)
      this.history.push({
        type: 'observe',
        time: this.tick(),
        topic,
        partition: 0,
        offset: this.nextOffset(topic),
        event,
      });
  }

  observeRaw(raw: string, topic = TOPICS.slotAssigned): void {
    this.history.push({ type: 'observe', time: this.tick(), topic, partition: 0, offset: this.nextOffset(topic), raw });
  }

  /** A fault; its end carries the evidence the nemesis records (`tookEffect`, default true). */
  nemesis(phase: 'start' | 'end', fault: string, tookEffect = true): void {
    this.history.push({
      type: 'nemesis',
      time: this.tick(),
      phase,
      fault,
      ...(phase === 'end' && { detail: { label: fault, tookEffect } }),
    });
  }

  // ---- store access for mutations --------------------------------------------

  batch(b: string): PgBatch {
    const row = this.final.postgres.batches.find((x) => x.batch_id === b);
    if (!row) throw new Error(`test-support: no batch ${b}`);
    return row;
  }

  slot(b: string, essay: string): PgSlot {
    const row = this.final.postgres.slots.find((s) => s.batch_id === b && s.essay_id === essay);
    if (!row) throw new Error(`test-support: no slot ${b}/${essay}`);
    return row;
  }

  redis(b: string): RedisBatch {
    const r = this.final.redis.batches.find((x) => x.batch_id === b);
    if (!r) throw new Error(`test-support: batch ${b} not cached`);
    return r;
  }

  /** Drops a batch from the Redis cache (legitimate: it is rebuilt on demand). */
  evict(b: string): void {
    this.final.redis.batches = this.final.redis.batches.filter((x) => x.batch_id !== b);
  }

  private cached(b: string): RedisBatch | undefined {
    return this.final.redis.batches.find((x) => x.batch_id === b);
  }

  private processed(outcome: OpOutcome | 'none', delivered: boolean | undefined): boolean {
    return outcome === 'ok' || (outcome !== 'fail' && (delivered ?? true));
  }

  // ---- the ideal coordinator -------------------------------------------------

  register(b: string, essays: string[], opts: InputOptions = {}): void {
    const outcome = opts.outcome ?? 'ok';
    this.publish(input.registered(b, essays), { outcome });
    if (!this.processed(outcome, opts.delivered)) return;
    this.final.postgres.batches.push({ batch_id: b, expected_count: essays.length, status: 'open' });
    for (const e of essays)
      this.final.postgres.slots.push({
        batch_id: b,
        essay_id: e,
        state: 'free',
        text_storage_id: null,
        original_file_name: null,
      });
    this.final.redis.batches.push({
      batch_id: b,
      status: 'open',
      free: [...essays],
      assign: {},
      failed: {},
      excess: [],
    });
    // Drain what was parked for this batch, in arrival order.
    const parked = this.final.postgres.pending.filter((p) => p.batch_id === b);
    this.final.postgres.pending = this.final.postgres.pending.filter((p) => p.batch_id !== b);
    for (const p of parked) {
      if (p.text_storage_id !== null) this.settleContent(b, p.text_storage_id, p.original_file_name);
      else
        this.settleFailure(b, p.original_file_name, this.reasons.get(`${b}/${p.original_file_name}`) ?? 'unreadable');
    }
  }

  content(b: string, tsid: string, opts: InputOptions & { fname?: string } = {}): void {
    const outcome = opts.outcome ?? 'ok';
    const fname = opts.fname ?? `${tsid}.txt`;
    this.publish(input.content(b, tsid, fname), { outcome });
    if (!this.processed(outcome, opts.delivered)) return;
    if (!this.final.postgres.batches.some((x) => x.batch_id === b)) {
      this.final.postgres.pending.push({ batch_id: b, text_storage_id: tsid, original_file_name: fname });
      return;
    }
    this.settleContent(b, tsid, fname);
  }

  failure(b: string, fname: string, opts: InputOptions & { reason?: string } = {}): void {
    const outcome = opts.outcome ?? 'ok';
    const reason = opts.reason ?? 'unreadable';
    this.publish(input.failure(b, fname, reason), { outcome });
    if (!this.processed(outcome, opts.delivered)) return;
    this.reasons.set(`${b}/${fname}`, reason);
    if (!this.final.postgres.batches.some((x) => x.batch_id === b)) {
      this.final.postgres.pending.push({ batch_id: b, text_storage_id: null, original_file_name: fname });
      return;
    }
    this.settleFailure(b, fname, reason);
  }

  private settleContent(b: string, tsid: string, fname: string): void {
    const pg = this.final.postgres;
    if (
      pg.slots.some((s) => s.batch_id === b && s.text_storage_id === tsid) ||
      pg.excess.some((x) => x.batch_id === b && x.text_storage_id === tsid)
    )
      return; // idempotent: a repeated content changes nothing (its event was already published)
    const row = this.batch(b);
    const free = pg.slots.find((s) => s.batch_id === b && s.state === 'free');
    const r = this.cached(b);
    if (row.status !== 'open' || free === undefined) {
      const reason: ExcessReason = row.status !== 'open' ? 'batch_closed' : 'no_free_slot';
      pg.excess.push({ batch_id: b, text_storage_id: tsid, reason });
      r?.excess?.push(tsid);
      this.observe(ev.excess(b, tsid, reason, fname));
      return;
    }
    Object.assign(free, { state: 'assigned', text_storage_id: tsid, original_file_name: fname });
    if (r) {
      r.free = r.free.filter((e) => e !== free.essay_id);
      r.assign[tsid] = free.essay_id;
    }
    this.observe(ev.slotAssigned(b, free.essay_id, tsid, fname));
  }

  private settleFailure(b: string, fname: string, reason: string): void {
    const pg = this.final.postgres;
    if (pg.slots.some((s) => s.batch_id === b && s.state === 'failed' && s.original_file_name === fname)) return;
    this.reasons.set(`${b}/${fname}`, reason);
    const free = pg.slots.find((s) => s.batch_id === b && s.state === 'free');
    if (this.batch(b).status !== 'open' || free === undefined) return; // dropped: full or closed
    Object.assign(free, { state: 'failed', text_storage_id: null, original_file_name: fname });
    const r = this.cached(b);
    if (r) {
      r.free = r.free.filter((e) => e !== free.essay_id);
      r.failed[fname] = free.essay_id;
    }
  }

  /** The closing payload Postgres implies for batch `b`. */
  closingData(b: string): {
    essays: AssignedEssay[];
    validation_failures: ValidationFailure[];
    missing_essay_ids: string[];
  } {
    const slots = this.final.postgres.slots.filter((s) => s.batch_id === b);
    return {
      essays: slots
        .filter((s) => s.state === 'assigned')
        .map((s) => ({
          essay_id: s.essay_id,
          text_storage_id: s.text_storage_id ?? '',
          original_file_name: s.original_file_name ?? '',
        })),
      validation_failures: slots
        .filter((s) => s.state === 'failed')
        .map((s) => ({
          essay_id: s.essay_id,
          original_file_name: s.original_file_name ?? '',
          reason: this.reasons.get(`${b}/${s.original_file_name ?? ''}`) ?? 'unreadable',
        })),
      missing_essay_ids: slots.filter((s) => s.state === 'free').map((s) => s.essay_id),
    };
  }

  /** Closes batch `b` as ready (Postgres, Redis, event), delivered `times` times. */
  ready(b: string, times = 1): BatchReady {
    const d = this.closingData(b);
    const event = ev.ready(b, d.essays, d.validation_failures);
    this.batch(b).status = 'ready';
    const r = this.cached(b);
    if (r) r.status = 'ready';
    this.observe(event, times);
    return event;
  }

  /** Closes batch `b` as timed out. */
  timeOut(b: string, times = 1): BatchTimedOut {
    const d = this.closingData(b);
    const event = ev.timedOut(b, d.essays, d.validation_failures, d.missing_essay_ids);
    this.batch(b).status = 'timed_out';
    const r = this.cached(b);
    if (r) r.status = 'timed_out';
    this.observe(event, times);
    return event;
  }
}

/**
 * A small correct run used as the starting point of most tests:
 * - b-1 (e-1, e-2, e-3): t-1, t-2 assigned, f-1.txt failed → ready; t-3 excess (batch_closed)
 * - b-2 (e-4, e-5): t-4 assigned, then timed out with e-5 missing
 * - b-9: never registered; t-9 parked in pending
 */
export function correctRun(): LabSim {
  const lab = new LabSim();
  lab.register('b-1', ['e-1', 'e-2', 'e-3']);
  lab.content('b-1', 't-1');
  lab.nemesis('start', 'kill coordinator-1');
  lab.content('b-1', 't-2');
  lab.failure('b-1', 'f-1.txt');
  lab.ready('b-1');
  lab.content('b-1', 't-3');
  lab.nemesis('end', 'kill coordinator-1');
  lab.register('b-2', ['e-4', 'e-5']);
  lab.content('b-2', 't-4');
  lab.timeOut('b-2');
  lab.content('b-9', 't-9');
  return lab;
}
