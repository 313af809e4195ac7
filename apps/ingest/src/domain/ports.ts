/**
 * What the ingest logic needs from the outside world. Only the adapters
 * (`adapters/postgres`, `adapters/kafka`) import pg or kafkajs.
 */
import type { BatchRegistered, ContentProvisioned, InputEvent, ValidationFailed } from '@chaos-lab/contracts';

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
  readonly event: ContentProvisioned | ValidationFailed;
}

/** Outcome of an insert-once: whether this call stored the row, and the row as stored (this one or the earlier one). */
export interface Stored<T> {
  readonly inserted: boolean;
  readonly stored: T;
}

export interface IngestStore {
  /** Stores the batch unless one with the same id exists; never overwrites. Throws DependencyError. */
  insertBatch(batch: BatchRecord): Promise<Stored<BatchRecord>>;
  /** Stores the content unless its text_storage_id exists; never overwrites. Throws DependencyError. */
  insertContent(
    content: ContentRecord & { readonly body: Buffer; readonly idempotencyKey: string | undefined },
  ): Promise<Stored<ContentRecord>>;
  ping(): Promise<void>;
}

export interface EventPublisher {
  /** Resolves once every in-sync replica acknowledged the event (acks=-1). Throws DependencyError. */
  publish(topic: string, key: string, event: InputEvent): Promise<void>;
  ping(): Promise<void>;
}
