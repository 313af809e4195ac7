/**
 * What the ingest logic needs from the outside world. Only the adapters
 * (`adapters/postgres`, `adapters/kafka`) import pg or kafkajs.
 */
import type {
  BatchRegistered,
  ContentProvisioned,
  InputEvent,
  ValidationFailed,
  ValidationFailedV2,
} from '@chaos-lab/contracts';

export interface BatchRecord {
  readonly batchId: string;
  readonly essayIds: readonly string[];
  readonly deadline: string | undefined;
  readonly event: BatchRegistered;
}

export type ContentOutcome = 'provisioned' | 'validation_failed';

export interface ContentRecord {
  readonly textStorageId: string;
  readonly batchId: string;
  readonly originalFileName: string;
  readonly byteLength: number;
  /** Hex SHA-256 of the UTF-8 text. */
  readonly sha256: string;
  readonly outcome: ContentOutcome;
  readonly failureReason: string | undefined;
  /** v1 failures in rows stored before failures had an upload id. */
  readonly event: ContentProvisioned | ValidationFailedV2 | ValidationFailed;
}

/** Outcome of an insert-once: whether this call stored the row, and the row as stored (this one or the earlier one). */
export interface Stored<T> {
  readonly inserted: boolean;
  readonly stored: T;
}

/** Where a stored row's event goes: queued in the outbox in the row's own transaction. */
export interface OutboxEntry {
  readonly topic: string;
  readonly key: string;
}

/** An outbox row claimed by a relay pass. */
export interface OutboxMessage {
  readonly id: string;
  readonly topic: string;
  readonly key: string;
  readonly event: InputEvent;
  /** Earlier sends of this row the broker refused non-retriably. */
  readonly attempts: number;
}

/** What a relay pass did with its rows; a row in neither list stays queued as it was. */
export interface RelayOutcome {
  readonly published: readonly string[];
  readonly refused: readonly { readonly id: string; readonly error: string; readonly retriable: boolean }[];
}

export interface IngestStore {
  /**
   * Stores the batch unless one with the same id exists (never overwrites), then queues the stored row's event
   * where `queue` says — a new row's for the first time, an existing row's again (a client retry republishes)
   * — or nothing when it says undefined (a conflicting request). One transaction. Throws DependencyError.
   */
  insertBatch(
    batch: BatchRecord,
    queue: (stored: BatchRecord, inserted: boolean) => OutboxEntry | undefined,
  ): Promise<Stored<BatchRecord>>;
  /** As {@link insertBatch}, for a content by its text_storage_id. */
  insertContent(
    content: ContentRecord & { readonly body: Buffer; readonly idempotencyKey: string | undefined },
    queue: (stored: ContentRecord, inserted: boolean) => OutboxEntry | undefined,
  ): Promise<Stored<ContentRecord>>;
  /**
   * Claims up to `limit` queued rows (rows another pass holds are skipped), lets `publish` send them, and
   * records the outcome in the same transaction. Returns how many rows were claimed.
   */
  relayOutbox(limit: number, publish: (rows: OutboxMessage[]) => Promise<RelayOutcome>): Promise<number>;
  /** Queued rows, the age of the oldest, and rows set aside. */
  outboxBacklog(): Promise<{ rows: number; oldestAgeSeconds: number; setAside: number }>;
  ping(): Promise<void>;
}

export interface EventPublisher {
  /**
   * Sends the messages and resolves once every in-sync replica acknowledged all of them (acks=-1). Throws
   * DependencyError (retriable or not, as the broker said).
   */
  publishAll(messages: readonly { topic: string; key: string; event: InputEvent }[]): Promise<void>;
  ping(): Promise<void>;
}
