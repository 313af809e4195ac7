/**
 * The history of a chaos run, Jepsen style.
 *
 * A run is a set of concurrent client processes doing operations against the
 * system under test while a nemesis injects faults. We do not judge the run
 * while it happens; we only *record* it, as an append-only list of entries:
 *
 * - `invoke`  a client process starts an operation (here: publishing one input
 *   event to Kafka). The entry carries everything sent.
 * - `ok` / `fail` / `info`  the same operation (paired by `index`) completed:
 *   `ok` = it definitely happened, `fail` = it definitely did NOT happen,
 *   `info` = we cannot know (a timeout, a crash of the producer, a broker
 *   disconnect after the send). An invoke that never got a completion (the run
 *   ended first) counts as `info` too: indeterminate operations must be treated
 *   as "may or may not have happened", never as either.
 * - `observe`  a message the lab read from an output topic. Delivery is
 *   at-least-once, so the same event (same `event_id`) may be observed twice.
 * - `nemesis`  a fault started or ended; checkers ignore it, humans and plots
 *   use it to relate anomalies to faults.
 * - `instance`  what the lab saw happen to an instance of the system under
 *   test: running when the history began, started, ready, joined its consumer
 *   group, asked to stop, killed, paused, resumed, exited. Checkers ignore it
 *   too; the report draws each instance's life from it. Histories recorded
 *   before it existed simply have none.
 *
 * Checkers (see `../checkers`) are pure functions of this history plus a final
 * read of the stores, so a recorded run can be re-checked offline from its
 * JSONL file (`readHistory`).
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { InputEvent, OutputEvent } from '@chaos-lab/contracts';
import { ChaosLabError, InvalidArgumentError } from '@chaos-lab/errors';

export type OpOutcome = 'ok' | 'fail' | 'info';
export const OP_OUTCOMES: readonly OpOutcome[] = ['ok', 'fail', 'info'];

/**
 * Free-form annotations the workload attaches to a publish. `poison: true`
 * marks a message that is deliberately invalid by the contract and must be
 * dead-lettered (checked by the `dead-letters` checker).
 */
export interface PublishMeta {
  poison?: boolean;
  /** A registration's deadline as planned, relative to its publish (the event carries it stamped absolute). */
  deadlineInMs?: number;
  [k: string]: unknown;
}

/** A client process starts publishing one input message. */
export interface PublishInvoke {
  type: 'invoke';
  f: 'publish';
  process: string;
  /** Unique per history; pairs this invoke with its completion. */
  index: number;
  /** Milliseconds since the run started (float, monotonic). */
  time: number;
  topic: string;
  /** Kafka message key, when the workload sets one. */
  key?: string;
  /** The event, when the message is a contract-valid input event. */
  event?: InputEvent;
  /**
   * The message value exactly as sent, when it is not `JSON.stringify(event)`:
   * poison (malformed JSON, schema violations, oversized bodies). Dead letters
   * are matched against it.
   */
  raw?: string;
  /** The exact bytes of a hostile value, base64, when they are not `raw` as UTF-8 (`raw` is then their lossy decoding). */
  rawBase64?: string;
  /** The exact key bytes, base64, or null for a message sent without a key (`key` is then a printable stand-in). */
  keyBase64?: string | null;
  meta?: PublishMeta;
}

/** The completion of the publish with the same `index`. */
export interface PublishComplete {
  type: OpOutcome;
  f: 'publish';
  process: string;
  index: number;
  time: number;
  error?: string;
  /** Where the broker put the message, when it acknowledged it (only meaningful for `ok`). */
  partition?: number;
  offset?: string;
}

/** One message read from an output topic. */
export interface Observed {
  type: 'observe';
  time: number;
  topic: string;
  partition: number;
  offset: string;
  /** The parsed output envelope, when the message satisfies the contract. */
  event?: OutputEvent;
  /** The message value, when it could not be parsed as a contract output event. */
  raw?: string;
  /** The message's size as the broker saw it: value plus key bytes. */
  bytes?: number;
}

/** A fault of the nemesis started or ended. */
export interface NemesisEntry {
  type: 'nemesis';
  time: number;
  phase: 'start' | 'end';
  fault: string;
  target?: string;
  detail?: Record<string, unknown>;
}

/**
 * What happened to an instance, as the lab saw it. The lab's own acts (`stopping` = SIGTERM sent, `killed` =
 * SIGKILL, `paused` = SIGSTOP, `resumed` = SIGCONT) are recorded as it does them; `started` when it spawns a
 * process, `ready` when that process first answers its readiness probe, `exited` when the process is gone
 * (whoever ended it: the lab, a fail-point, a crash), `joined` when the instance reports a new consumer-group
 * join, and `running` for each instance already up when the history began.
 */
export const INSTANCE_EVENTS = [
  'running',
  'started',
  'ready',
  'joined',
  'stopping',
  'killed',
  'paused',
  'resumed',
  'exited',
] as const;
export type InstanceEvent = (typeof INSTANCE_EVENTS)[number];

/** Something happened to one instance of the system under test (see {@link INSTANCE_EVENTS}). */
export interface InstanceEntry {
  type: 'instance';
  /** When the lab recorded it (like every entry's, monotonic in the history). */
  time: number;
  /** The instance's id, e.g. `coordinator-2`. */
  instance: string;
  event: InstanceEvent;
  /** The process the event is about, when it has one. */
  pid?: number;
  /**
   * When it happened, if that is known and earlier than `time`: a group join the instance reports through
   * its metrics is seen at the lab's next poll. History ms, like `time`.
   */
  at?: number;
  /** What else is known: an exit's `code` and `signal`, a join's `partitions`… */
  detail?: Record<string, unknown>;
}

export type HistoryEntry = PublishInvoke | PublishComplete | Observed | NemesisEntry | InstanceEntry;

// ---- validation -------------------------------------------------------------

const time = z.number().nonnegative();
const index = z.number().int().nonnegative();

const PublishInvokeSchema = z
  .object({
    type: z.literal('invoke'),
    f: z.literal('publish'),
    process: z.string().min(1),
    index,
    time,
    topic: z.string().min(1),
    key: z.string().optional(),
    event: InputEvent.optional(),
    raw: z.string().optional(),
    rawBase64: z.base64().optional(),
    keyBase64: z.base64().nullable().optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((e) => e.event !== undefined || e.raw !== undefined, 'a publish invoke needs `event` or `raw`');

const PublishCompleteSchema = z.object({
  type: z.enum(['ok', 'fail', 'info']),
  f: z.literal('publish'),
  process: z.string().min(1),
  index,
  time,
  error: z.string().optional(),
  partition: z.number().int().nonnegative().optional(),
  offset: z.string().optional(),
});

const ObservedSchema = z
  .object({
    type: z.literal('observe'),
    time,
    topic: z.string().min(1),
    partition: z.number().int().nonnegative(),
    offset: z.string(),
    event: OutputEvent.optional(),
    raw: z.string().optional(),
    bytes: z.number().int().nonnegative().optional(),
  })
  .refine((e) => e.event !== undefined || e.raw !== undefined, 'an observe entry needs `event` or `raw`');

const NemesisSchema = z.object({
  type: z.literal('nemesis'),
  time,
  phase: z.enum(['start', 'end']),
  fault: z.string().min(1),
  target: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

const InstanceSchema = z.object({
  type: z.literal('instance'),
  time,
  instance: z.string().min(1),
  event: z.enum(INSTANCE_EVENTS),
  pid: z.number().int().positive().optional(),
  at: time.optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

/** Schema of one history line. */
export const HistoryEntrySchema = z.discriminatedUnion('type', [
  PublishInvokeSchema,
  PublishCompleteSchema,
  ObservedSchema,
  NemesisSchema,
  InstanceSchema,
]);

/** A history file (or string) that is not a well-formed history. */
export class HistoryParseError extends ChaosLabError {
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`history line ${line}: ${detail}`);
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(entry)'}: ${i.message}`)
    .join('; ');
}

/**
 * Parses a JSONL history (as written by {@link HistoryRecorder.toJSONL}).
 * Blank lines are ignored. Besides the shape of each line it checks the
 * pairing discipline — an index is invoked once, completed at most once and
 * only after its invoke — because a checker fed a history that breaks it would
 * draw conclusions from garbage. Throws {@link HistoryParseError} naming the
 * (1-based) line.
 */
export function readHistory(jsonl: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  const invoked = new Set<number>();
  const completed = new Set<number>();
  const lines = jsonl.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const text = (lines[i] ?? '').trim();
    if (text === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new HistoryParseError(lineNo, `not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const parsed = HistoryEntrySchema.safeParse(json);
    if (!parsed.success) throw new HistoryParseError(lineNo, describeIssues(parsed.error));
    // The schema output is structurally our entry type (zod strips unknown keys).
    const entry = parsed.data as HistoryEntry;
    if (entry.type === 'invoke') {
      if (invoked.has(entry.index)) throw new HistoryParseError(lineNo, `index ${entry.index} invoked twice`);
      invoked.add(entry.index);
    } else if (entry.type === 'ok' || entry.type === 'fail' || entry.type === 'info') {
      if (!invoked.has(entry.index))
        throw new HistoryParseError(lineNo, `completion of index ${entry.index} before its invoke`);
      if (completed.has(entry.index)) throw new HistoryParseError(lineNo, `index ${entry.index} completed twice`);
      completed.add(entry.index);
    }
    entries.push(entry);
  }
  return entries;
}

// ---- recording --------------------------------------------------------------

export interface InvokeInput {
  topic: string;
  key?: string;
  event?: InputEvent;
  raw?: string;
  rawBase64?: string;
  keyBase64?: string | null;
  meta?: PublishMeta;
}

export interface CompleteExtra {
  error?: string;
  partition?: number;
  offset?: string;
}

export interface ObserveInput {
  topic: string;
  partition: number;
  offset: string;
  event?: OutputEvent;
  raw?: string;
  bytes?: number;
}

export interface HistoryRecorderOptions {
  /** Clock in milliseconds; default `performance.now` (monotonic). Injectable for tests. */
  now?: () => number;
}

/**
 * Appends history entries in the order they happen. Times are milliseconds
 * since the recorder was created, from a monotonic clock, and never decrease
 * (even with an injected clock), so entry order and time order agree.
 *
 * Misuse (completing an unknown or already completed index) throws: it is a
 * bug in the workload, and recording it silently would corrupt the history.
 */
export class HistoryRecorder {
  private readonly now: () => number;
  private readonly start: number;
  private last = 0;
  private nextIndex = 0;
  private readonly log: HistoryEntry[] = [];
  private readonly open = new Map<number, string>();
  private readonly done = new Set<number>();

  constructor(options: HistoryRecorderOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** The entries so far (a live read-only view; do not hold it across awaits expecting a snapshot). */
  get entries(): readonly HistoryEntry[] {
    return this.log;
  }

  /** Milliseconds since the recorder was created, on the history's clock (not recorded). */
  elapsedMs(): number {
    return Math.max(this.last, this.now() - this.start);
  }

  private tick(): number {
    this.last = Math.max(this.last, this.now() - this.start);
    return this.last;
  }

  /** Records the start of a publish by `process`; returns the index to pass to {@link complete}. */
  invoke(process: string, op: InvokeInput): number {
    if (op.event === undefined && op.raw === undefined) throw new InvalidArgumentError('op', op, 'an `event` or `raw`');
    const index = this.nextIndex++;
    const entry: PublishInvoke = { type: 'invoke', f: 'publish', process, index, time: this.tick(), topic: op.topic };
    if (op.key !== undefined) entry.key = op.key;
    if (op.event !== undefined) entry.event = op.event;
    if (op.raw !== undefined) entry.raw = op.raw;
    if (op.rawBase64 !== undefined) entry.rawBase64 = op.rawBase64;
    if (op.keyBase64 !== undefined) entry.keyBase64 = op.keyBase64;
    if (op.meta !== undefined) entry.meta = op.meta;
    this.log.push(entry);
    this.open.set(index, process);
    return index;
  }

  /** Records the outcome of the publish `index`. */
  complete(index: number, outcome: OpOutcome, extra: CompleteExtra = {}): void {
    const process = this.open.get(index);
    if (process === undefined) {
      const why = this.done.has(index) ? 'was already completed' : 'was never invoked';
      throw new InvalidArgumentError('index', index, `a publish that is open (publish ${index} ${why})`);
    }
    this.open.delete(index);
    this.done.add(index);
    const entry: PublishComplete = { type: outcome, f: 'publish', process, index, time: this.tick() };
    if (extra.error !== undefined) entry.error = extra.error;
    if (extra.partition !== undefined) entry.partition = extra.partition;
    if (extra.offset !== undefined) entry.offset = extra.offset;
    this.log.push(entry);
  }

  /** Records an output message already split into event (parsed) or raw. */
  observe(o: ObserveInput): void {
    if (o.event === undefined && o.raw === undefined) throw new InvalidArgumentError('o', o, 'an `event` or `raw`');
    const entry: Observed = {
      type: 'observe',
      time: this.tick(),
      topic: o.topic,
      partition: o.partition,
      offset: o.offset,
    };
    if (o.event !== undefined) entry.event = o.event;
    if (o.raw !== undefined) entry.raw = o.raw;
    if (o.bytes !== undefined) entry.bytes = o.bytes;
    this.log.push(entry);
  }

  /**
   * Records an output message from its value: a value that parses as a
   * contract output event is stored parsed, anything else raw (an output that
   * breaks the contract is itself a finding, so it is kept, not dropped).
   */
  observeMessage(m: { topic: string; partition: number; offset: string; value: string | Uint8Array | null }): void {
    const raw = m.value === null ? '' : typeof m.value === 'string' ? m.value : Buffer.from(m.value).toString('utf8');
    const bytes = m.value === null ? 0 : typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length;
    let event: OutputEvent | undefined;
    try {
      const parsed = OutputEvent.safeParse(JSON.parse(raw));
      if (parsed.success) event = parsed.data;
    } catch {
      // not JSON: recorded raw below
    }
    this.observe(
      event === undefined
        ? { topic: m.topic, partition: m.partition, offset: m.offset, raw, bytes }
        : { topic: m.topic, partition: m.partition, offset: m.offset, event, bytes },
    );
  }

  /** Records a fault starting or ending. */
  nemesis(
    phase: 'start' | 'end',
    fault: string,
    opts: { target?: string; detail?: Record<string, unknown> } = {},
  ): void {
    const entry: NemesisEntry = { type: 'nemesis', time: this.tick(), phase, fault };
    if (opts.target !== undefined) entry.target = opts.target;
    if (opts.detail !== undefined) entry.detail = opts.detail;
    this.log.push(entry);
  }

  /**
   * Records an event of an instance. `at` (when it really happened, if earlier and known) is kept only when it
   * is not after the entry's own time, so that no entry claims a time the history had not reached yet.
   */
  instance(
    instance: string,
    event: InstanceEvent,
    opts: { pid?: number; at?: number; detail?: Record<string, unknown> } = {},
  ): void {
    const entry: InstanceEntry = { type: 'instance', time: this.tick(), instance, event };
    if (opts.pid !== undefined) entry.pid = opts.pid;
    if (opts.at !== undefined && opts.at >= 0 && opts.at <= entry.time) entry.at = opts.at;
    if (opts.detail !== undefined) entry.detail = opts.detail;
    this.log.push(entry);
  }

  /** One JSON object per line, newline-terminated; `readHistory` reads it back. */
  toJSONL(): string {
    return historyToJSONL(this.log);
  }
}

// ---- views ------------------------------------------------------------------

/** A publish invoke joined with its completion. */
export interface PublishedEvent {
  readonly index: number;
  readonly process: string;
  readonly topic: string;
  readonly key: string | undefined;
  readonly event: InputEvent | undefined;
  readonly raw: string | undefined;
  readonly rawBase64: string | undefined;
  readonly keyBase64: string | null | undefined;
  readonly meta: PublishMeta | undefined;
  /** `meta.poison === true`. */
  readonly poison: boolean;
  /** The completion's outcome; `info` when the invoke never completed. */
  readonly outcome: OpOutcome;
  readonly invokeTime: number;
  readonly completeTime: number | undefined;
  readonly error: string | undefined;
  readonly partition: number | undefined;
  readonly offset: string | undefined;
}

/**
 * Pairs each publish invoke with its completion, in invoke order, keeping only
 * the given outcomes (default: all). Completions without an invoke are
 * ignored (readHistory rejects them; a hand-built history may not).
 */
export function publishedEvents(
  history: readonly HistoryEntry[],
  options: { outcomes?: readonly OpOutcome[] } = {},
): PublishedEvent[] {
  const wanted = new Set(options.outcomes ?? OP_OUTCOMES);
  const completions = new Map<number, PublishComplete>();
  for (const e of history) {
    if ((e.type === 'ok' || e.type === 'fail' || e.type === 'info') && !completions.has(e.index)) {
      completions.set(e.index, e);
    }
  }
  const out: PublishedEvent[] = [];
  for (const e of history) {
    if (e.type !== 'invoke') continue;
    const c = completions.get(e.index);
    const outcome: OpOutcome = c?.type ?? 'info';
    if (!wanted.has(outcome)) continue;
    out.push({
      index: e.index,
      process: e.process,
      topic: e.topic,
      key: e.key,
      event: e.event,
      raw: e.raw,
      rawBase64: e.rawBase64,
      keyBase64: e.keyBase64,
      meta: e.meta,
      poison: e.meta?.poison === true,
      outcome,
      invokeTime: e.time,
      completeTime: c?.time,
      error: c?.error,
      partition: c?.partition,
      offset: c?.offset,
    });
  }
  return out;
}

/** The message value a publish sent, as text: `raw` when recorded, else the serialized event. */
export function messageValue(p: Pick<PublishedEvent, 'raw' | 'event'>): string {
  return p.raw ?? JSON.stringify(p.event);
}

/** The exact bytes a publish sent as its value. */
export function messageBytes(p: Pick<PublishedEvent, 'raw' | 'event' | 'rawBase64'>): Buffer {
  return p.rawBase64 !== undefined ? Buffer.from(p.rawBase64, 'base64') : Buffer.from(messageValue(p), 'utf8');
}

/** Observed output entries that parsed as contract events, in observation order. */
export function observedEvents(history: readonly HistoryEntry[]): (Observed & { event: OutputEvent })[] {
  return history.filter((e): e is Observed & { event: OutputEvent } => e.type === 'observe' && e.event !== undefined);
}

/**
 * The history as the system under test could have seen it: publishes the
 * broker acknowledged but does not hold in its topic become `info` (did not
 * happen, as far as anyone downstream can tell), with `reason` as their error.
 * A new array; the entries not concerned are shared.
 */
export function withUnstoredPublishes(
  history: readonly HistoryEntry[],
  indices: ReadonlySet<number>,
  reason: string,
): HistoryEntry[] {
  return history.map((e) =>
    e.type === 'ok' && e.f === 'publish' && indices.has(e.index) ? { ...e, type: 'info', error: reason } : e,
  );
}

/** A history as JSONL, one entry per line (what {@link parseHistory} reads back). */
export function historyToJSONL(history: readonly HistoryEntry[]): string {
  return history.map((e) => JSON.stringify(e) + '\n').join('');
}
