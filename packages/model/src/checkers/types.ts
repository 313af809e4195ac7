/**
 * Types shared by the checkers.
 *
 * A checker is a pure function from (history, final state of the stores) to a
 * {@link Verdict}. It never throws and never performs I/O, so a run can be
 * re-checked offline and checkers can be unit-tested on hand-built histories.
 * Like Jepsen's checkers, a verdict has three values: `true` (no anomaly
 * found), `false` (at least one counterexample, reported concretely), and
 * `'unknown'` (the checker could not decide — e.g. it crashed).
 */
import type { HistoryEntry } from '../history/history.js';

export type BatchStatus = 'open' | 'ready' | 'timed_out';
export type SlotState = 'free' | 'assigned' | 'failed';

export interface PgBatch {
  batch_id: string;
  expected_count: number;
  status: BatchStatus;
  /** ISO time, or null without one; absent in runs whose final read predates it. */
  deadline?: string | null;
  /** When Postgres recorded the close, by its own clock (ISO), null while open; absent in older runs. */
  closed_at?: string | null;
}

export interface PgSlot {
  batch_id: string;
  essay_id: string;
  state: SlotState;
  text_storage_id: string | null;
  original_file_name: string | null;
  /** The failed upload (v2 failures); null or absent for v1 failures and in older runs. */
  upload_id?: string | null;
  /** How long before the read the slot was settled, by Postgres' clock; absent while free and in older runs. */
  settled_ms_ago?: number | null;
}

export interface PgExcess {
  batch_id: string;
  text_storage_id: string;
  reason: string;
}

/** Content (`text_storage_id` set) or a validation failure (`text_storage_id` null) parked for a batch never registered. */
export interface PgPending {
  batch_id: string;
  text_storage_id: string | null;
  original_file_name: string;
  /** The failed upload of a parked v2 failure; null or absent otherwise. */
  upload_id?: string | null;
  /** How long it had been parked at the final read, by Postgres' clock (absent in older runs). */
  parked_ms?: number;
}

export interface RedisBatch {
  batch_id: string;
  status: string;
  /** Essay ids not yet settled. */
  free: string[];
  /** text_storage_id → essay_id */
  assign: Record<string, string>;
  /** failure identity ({@link failureIdentity}: the file name for v1, `upload:<id>` for v2) → essay_id */
  failed: Record<string, string>;
  /** text_storage_ids reported as excess; compared with Postgres only when the reader provides it. */
  excess?: string[];
}

/** A read of both stores after the run has quiesced. */
export interface FinalState {
  postgres: {
    batches: PgBatch[];
    slots: PgSlot[];
    excess: PgExcess[];
    pending: PgPending[];
  };
  /** Only batches present in the cache; an absent batch is legitimate (rebuilt on demand). */
  redis: { batches: RedisBatch[] };
  /** The coordinators' consumer group on the input topics, read after the heal (absent in older runs). */
  consumption?: Consumption;
  /**
   * History time (ms) Postgres was read at, when the reader knows it (absent in older runs and hand-made
   * states): a row's `settled_ms_ago`, and a counterexample's `effect_ago_ms`, count back from it.
   */
  readAtMs?: number;
}

/** How far the coordinators' group consumed each input partition, within `boundMs` of the heal. */
export interface Consumption {
  readonly boundMs: number;
  /** History time (ms since the run began) of the read. */
  readonly judgedAtMs?: number;
  /** Why the group could not be read, when it could not. */
  readonly unavailable?: string;
  readonly partitions: readonly PartitionConsumption[];
}

export interface PartitionConsumption {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset (the next message to process; "-1" when none committed). */
  readonly committed: string;
  /** The partition's end offset when the seed's inputs were all published. */
  readonly end: string;
  /** What is known of the message at `committed`, when the partition is behind. */
  readonly stuck?: StuckMessage;
}

export interface StuckMessage {
  /** History time the blocking message was published, when the history has it. */
  readonly publishedAtMs?: number;
  /** The message value, printable (JSON-escaped, cut). */
  readonly value?: string;
  /** The instance whose log reports failures of this message. */
  readonly instance?: string;
  /** How many times that instance's log reports failing it. */
  readonly attempts: number;
  readonly lastError?: string;
  /**
   * When no instance logs failing this message: the message (`topic/partition@offset`) that the consumer
   * last seen on this partition keeps failing instead, which holds this partition too.
   */
  readonly heldBy?: string;
  /** Batches with inputs at or after this offset on this partition. */
  readonly batches?: readonly string[];
}

/** One counterexample: a specific human-readable message plus the data behind it. */
export interface VerdictError {
  message: string;
  /**
   * History time (ms) the counterexample came to be, when the checker knows it exactly: the entry that made it
   * (the observe entry of a second, contradicting event; the end of a fault that showed no effect…). Absent
   * when it is a property of the final read only (see `counterexampleTime` in first-violation.ts for what else can tell).
   */
  time?: number;
  [k: string]: unknown;
}

export interface Verdict {
  /** Stable id of the checker (used as the row name in tables). */
  checker: string;
  valid: boolean | 'unknown';
  /** Total number of counterexamples found (may exceed `errors.length`). */
  errorCount: number;
  firstError?: VerdictError;
  /** The first {@link MAX_REPORTED_ERRORS} counterexamples. */
  errors: VerdictError[];
  stats: Record<string, number>;
}

export const MAX_REPORTED_ERRORS = 20;

export interface CheckerInput {
  history: readonly HistoryEntry[];
  final: FinalState;
  /**
   * Judging while the run goes on: `history` is a prefix of one still being
   * recorded and `final` a snapshot of Postgres read meanwhile (Redis empty,
   * no consumption). A checker then reports only what no later event can undo:
   * a counterexample in the history prefix itself (two distinct closing events
   * of one batch stay two), or a state no committed Postgres state may ever
   * be in (a content in two slots). Never a comparison of the history with
   * the snapshot (they were taken at different moments), never a liveness
   * property. Only checkers defined with `online: true` are asked.
   */
  online?: boolean;
}

/** A checker is a function carrying its stable id (so a crash can still be attributed). */
export interface Checker {
  (input: CheckerInput): Verdict;
  readonly id: string;
  /** It has an online part ({@link CheckerInput.online}). */
  readonly online: boolean;
  /** What it checks, in one line (`lab list checkers`); empty when not given. */
  readonly description: string;
}

export function defineChecker(
  id: string,
  fn: (input: CheckerInput) => Verdict,
  opts: { readonly online?: boolean; readonly description?: string } = {},
): Checker {
  return Object.assign((input: CheckerInput) => fn(input), {
    id,
    online: opts.online === true,
    description: opts.description ?? '',
  });
}

/**
 * On a counterexample found in a Postgres snapshot ({@link CheckerInput.online}):
 * how long before the read it came to be, by Postgres' clock, when the rows say
 * (the latest `settled_at` among them).
 */
export const EFFECT_AGO_MS = 'effect_ago_ms';
