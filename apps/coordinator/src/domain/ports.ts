/**
 * Ports of the coordinator's domain. The domain logic in `coordinator.ts`
 * talks only to these interfaces; the adapters (ioredis, pg, kafkajs) live
 * under `adapters/` and are the only modules that import those libraries.
 *
 * The split of responsibilities:
 * - {@link SlotCache} (Redis) hands out free slots atomically and fast. It may
 *   lose a batch's state at any time (a restart without persistence) and then
 *   answers `missing`; it may even be stale after such a loss.
 * - {@link BatchStore} (Postgres) is the truth. Every write runs under a
 *   per-batch lock and re-checks what the cache said; when they disagree the
 *   store answers `conflict`, and the domain drops and rebuilds the cache.
 */
import { failureIdentity, type AssignedEssay, type ValidationFailure, type ExcessReason } from '@chaos-lab/contracts';

export type BatchStatus = 'open' | 'ready' | 'timed_out';

/** Everything needed to (re)build a batch's cache entry. */
export interface BatchSnapshot {
  readonly batchId: string;
  readonly status: BatchStatus;
  readonly expected: number;
  readonly free: readonly string[];
  /** text_storage_id → essay_id */
  readonly assigned: ReadonlyMap<string, string>;
  /** failure identity ({@link failureKey}) → essay_id */
  readonly failed: ReadonlyMap<string, string>;
  /** text_storage_id → reason */
  readonly excess: ReadonlyMap<string, ExcessReason>;
}

export type CacheAssign =
  | { readonly kind: 'missing' }
  | { readonly kind: 'assigned'; readonly essayId: string; readonly fresh: boolean }
  | { readonly kind: 'excess'; readonly reason: ExcessReason };

export type CacheFailure =
  | { readonly kind: 'missing' }
  | { readonly kind: 'settled'; readonly essayId: string; readonly fresh: boolean }
  | { readonly kind: 'excess'; readonly reason: ExcessReason };

/** An input to propose a slot for, in {@link SlotCache.proposeMany}: a content by text_storage_id, a failure by identity. */
export type ProposalInput =
  { readonly kind: 'content'; readonly key: string } | { readonly kind: 'failure'; readonly key: string };

export interface SlotCache {
  /** Loads a snapshot unless the batch is already cached; returns whether it loaded. */
  load(snapshot: BatchSnapshot): Promise<boolean>;
  assign(batchId: string, textStorageId: string): Promise<CacheAssign>;
  /** Settles a slot for the failure `identity` ({@link failureKey}), idempotently per identity. */
  settleFailure(batchId: string, identity: string): Promise<CacheFailure>;
  /**
   * Proposes for many inputs of many batches in one round trip: per batch, in the order given, each answer
   * exactly what {@link assign} (content) or {@link settleFailure} (failure) would answer called one after the other.
   */
  proposeMany(
    requests: readonly { readonly batchId: string; readonly inputs: readonly ProposalInput[] }[],
  ): Promise<(CacheAssign | CacheFailure)[][]>;
  /** Marks the batch closed; true only for the call that closed it. */
  close(batchId: string, status: Exclude<BatchStatus, 'open'>): Promise<boolean>;
  /**
   * {@link close} for many batches in one round trip: one answer per close, in order, each what {@link close}
   * would answer. An error fails the whole call (some closes may have been made: each is idempotent).
   */
  closeMany(
    closes: readonly { readonly batchId: string; readonly status: Exclude<BatchStatus, 'open'> }[],
  ): Promise<boolean[]>;
  /** Replaces the entry with the final snapshot of a closed batch (Postgres's truth), to expire with the closed TTL. */
  replaceFinal(snapshot: BatchSnapshot): Promise<void>;
  /** {@link replaceFinal} for many closed batches in one round trip. */
  replaceFinalMany(snapshots: readonly BatchSnapshot[]): Promise<void>;
  /** Notes in the entry's excess (creating it if it was dropped) a content Postgres recorded as excess. */
  noteExcess(batchId: string, textStorageId: string, reason: ExcessReason): Promise<void>;
  /** Drops the batch's cache entry (it will be rebuilt from the store). */
  invalidate(batchId: string): Promise<void>;
  ping(): Promise<void>;
}

export interface Registration {
  readonly batchId: string;
  readonly essayIds: readonly string[];
  readonly deadline: Date | undefined;
  readonly correlationId: string;
}

/** Where an input came from: kept with a parked input, so that giving it up can name it and keep its bytes. */
export interface InputSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly value: Uint8Array | null;
  readonly key: Uint8Array | null;
}

export interface ContentInput {
  readonly batchId: string;
  readonly textStorageId: string;
  readonly originalFileName: string;
  readonly correlationId: string;
  /** The message it came from (absent when drained from parking: the parked row keeps it). */
  readonly source?: InputSource;
}

export interface FailureInput {
  readonly batchId: string;
  readonly originalFileName: string;
  /** The failed upload (`essay.validation.failed.v2`); absent for v1, whose failures are one per file name. */
  readonly uploadId?: string;
  readonly reason: string;
  readonly correlationId: string;
  readonly source?: InputSource;
}

/**
 * What makes two failures one (a redelivery) rather than two: the contract's `failureIdentity` — the
 * upload for v2, the bare file name for v1 (as instances of the previous version key it in Redis).
 */
export function failureKey(f: Pick<FailureInput, 'originalFileName' | 'uploadId'>): string {
  return failureIdentity({ original_file_name: f.originalFileName, upload_id: f.uploadId });
}

/**
 * One input to record in {@link BatchStore.settleMany}, with the cache's proposal: what
 * recordAssignment, recordExcess, recordFailure and recordExcessFailure take one at a time.
 */
export type SettleItem =
  | { readonly op: 'assign'; readonly input: ContentInput; readonly essayId: string }
  | { readonly op: 'excess'; readonly input: ContentInput; readonly proposed: ExcessReason }
  | { readonly op: 'failure'; readonly input: FailureInput; readonly essayId: string }
  | { readonly op: 'excess_failure'; readonly input: FailureInput };

export type StoreWrite =
  /**
   * Written now, or found already written exactly so (an idempotent success).
   * `completed`: this write completed the batch; `status`: the batch's status
   * after it (a redelivery into a batch completed earlier sees `ready`).
   */
  | { readonly kind: 'recorded'; readonly completed: boolean; readonly status: BatchStatus }
  /** The cache's answer contradicts the store: drop the cache entry and retry. */
  | { readonly kind: 'conflict'; readonly detail: string }
  /** The batch is not registered (its cache entry cannot exist either). */
  | { readonly kind: 'unregistered' };

export interface SweepAgenda {
  readonly overdue: readonly string[];
  readonly closedWithCacheOpen: readonly { readonly batchId: string; readonly status: 'ready' | 'timed_out' }[];
  readonly withPending: readonly string[];
  readonly unregisteredWithExpiredParking: readonly string[];
  readonly parkingToForget: boolean;
}

export interface BatchView {
  readonly batchId: string;
  readonly status: BatchStatus;
  readonly expected: number;
  readonly deadline: string | null;
  readonly essays: AssignedEssay[];
  readonly validationFailures: ValidationFailure[];
  readonly freeEssayIds: string[];
  readonly excess: { text_storage_id: string; reason: string }[];
}

export interface BatchStore {
  /** Registers the batch (idempotent) and returns its snapshot. */
  register(r: Registration): Promise<BatchSnapshot>;
  snapshot(batchId: string): Promise<BatchSnapshot | undefined>;
  /** The snapshots of many batches, read in one statement (one consistent view); a batch not registered is absent. */
  snapshots(batchIds: readonly string[]): Promise<Map<string, BatchSnapshot>>;
  /** Parks an input for an unregistered batch; `registered` if the batch exists after all. */
  parkContent(c: ContentInput): Promise<'parked' | 'registered'>;
  parkFailure(f: FailureInput): Promise<'parked' | 'registered'>;
  pendingOf(batchId: string): Promise<{ contents: ContentInput[]; failures: FailureInput[] }>;
  /**
   * Batches never registered with an input parked longer than `ttlMs` ago (by the store's clock) and not yet
   * announced, oldest first.
   */
  unregisteredWithExpiredParking(ttlMs: number, limit: number): Promise<string[]>;
  /**
   * Dead-letters, under the batch's lock, every input parked for it longer than `ttlMs` ago and not yet
   * announced, if the batch is still unregistered; returns how many. The inputs stay parked (a registration
   * that comes later still gets them) until {@link forgetAnnouncedParking}. One transaction.
   */
  announceExpiredParking(batchId: string, ttlMs: number, retentionMs: number): Promise<number>;
  /** Drops parked inputs of batches still unregistered that were announced longer than `retentionMs` ago. */
  forgetAnnouncedParking(retentionMs: number, limit: number): Promise<number>;
  /**
   * What a sweep pass has to do, read in one round trip: each list as its own method above reads it (at most
   * `limit` each), and whether {@link forgetAnnouncedParking} has anything to drop. Idle, a pass costs this one
   * statement.
   */
  sweepAgenda(limit: number, parkedTtlMs: number, parkedRetentionMs: number): Promise<SweepAgenda>;
  /** Batches that are registered but still have parked inputs. */
  batchesWithPending(limit: number): Promise<string[]>;
  /**
   * Batches closed in Postgres (ready or timed out) whose cache entry is not known to be closed: the close after
   * the commit failed, or was never tried (an instance that died in between, or from before schema version 7).
   */
  closedWithCacheOpen(limit: number): Promise<{ batchId: string; status: 'ready' | 'timed_out' }[]>;
  /** Records that the batch's cache entry is closed: sweeps stop retrying it. */
  cacheClosed(batchId: string): Promise<void>;
  /** {@link cacheClosed} for many batches in one statement. */
  cacheClosedMany(batchIds: readonly string[]): Promise<void>;
  recordAssignment(c: ContentInput, essayId: string): Promise<StoreWrite>;
  recordFailure(f: FailureInput, essayId: string): Promise<StoreWrite>;
  recordExcess(c: ContentInput, reason: ExcessReason): Promise<StoreWrite>;
  /** Records a failure for which no slot was left (nothing to settle): kept for the record only. */
  recordExcessFailure(f: FailureInput): Promise<StoreWrite>;
  /**
   * Records many inputs, of any batches, in one transaction: each answers, in order, exactly what its one-input
   * write above would answer called one after the other (a conflict writes nothing of its item; the others go
   * on). One answer per item, in order. An error fails the whole call, and nothing of it is written.
   */
  settleMany(items: readonly SettleItem[]): Promise<StoreWrite[]>;
  /**
   * Batches whose deadline passed while open, by the store's clock: one clock for every instance, so an
   * instance whose own clock runs ahead never closes a batch early (nor one behind, late).
   */
  overdueBatches(limit: number): Promise<string[]>;
  /** Times the batch out if it is still open and overdue by the store's clock; true only for the call that did it. */
  timeOut(batchId: string): Promise<boolean>;
  /** Queues a dead letter for an input that could not be processed. */
  deadLetter(d: DeadLetterInput): Promise<void>;
  view(batchId: string): Promise<BatchView | undefined>;
  ping(): Promise<void>;
}

/**
 * An input that could not be processed, as received. Value and key are bytes, not text: they may hold
 * anything (NUL, invalid UTF-8), and the store must queue the dead letter whatever they hold.
 */
export interface DeadLetterInput {
  /** Why it is dead-lettered; may quote the input, so it may hold anything too. */
  readonly reason: string;
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  readonly sourceOffset: string;
  /** The message value; null when it had none. */
  readonly value: Uint8Array | null;
  /** The message key; null when it had none. */
  readonly key: Uint8Array | null;
}
