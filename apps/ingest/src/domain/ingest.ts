/**
 * The ingest logic: turn an accepted request into a stored row and one input
 * event for the coordinator, so that a retried request is a duplicate
 * delivery and never a second event.
 *
 * Every event id is derived from what the event is about (the batch, or the
 * batch and the text_storage_id), and the event is stored with its row on
 * first sight. The row and its event in the outbox commit together; the reply
 * (202) comes after that commit, and the outbox relay publishes the event —
 * so an accepted upload is announced whether or not its client ever comes
 * back. A retry queues the stored event again, byte for byte.
 *
 * A validation failure is `essay.validation.failed.v2`, whose `upload_id` (the
 * text_storage_id) makes two failed uploads of one file name two failures.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  BatchRegistered,
  ContentProvisioned,
  EventType,
  ValidationFailedV2,
  derivedEventId,
  type Topics,
} from '@chaos-lab/contracts';
import { ConflictError, IngestError } from '../errors.js';
import type { BatchRecord, ContentRecord, IngestStore } from './ports.js';

export interface RegisterBatchInput {
  readonly batchId: string;
  readonly essayIds: readonly string[];
  /** ISO 8601 with an offset, as the client sent it. */
  readonly deadline: string | undefined;
  readonly correlationId: string;
}

export interface RegisterBatchResult {
  readonly batchId: string;
  readonly eventId: string;
  readonly essayIds: readonly string[];
  /** False when this request repeated an earlier registration (the stored event was published again). */
  readonly firstSeen: boolean;
}

export interface UploadContentInput {
  readonly batchId: string;
  readonly originalFileName: string;
  readonly text: string;
  readonly idempotencyKey: string | undefined;
  readonly correlationId: string;
}

export type UploadContentResult =
  | {
      readonly outcome: 'provisioned';
      readonly textStorageId: string;
      readonly eventId: string;
      readonly firstSeen: boolean;
    }
  | {
      readonly outcome: 'validation_failed';
      readonly textStorageId: string;
      readonly reason: string;
      readonly eventId: string;
      readonly firstSeen: boolean;
    };

export interface IngestOptions {
  readonly topics: Topics;
  readonly maxTextBytes: number;
  /** Called with the size of each newly stored text. */
  readonly onContentStored?: (bytes: number) => void;
  /** Called after each commit that queued an event (the relay publishes now rather than at its next poll). */
  readonly onQueued?: () => void;
}

/** The id the text of an upload is stored under: derived from the Idempotency-Key when there is one. */
export function textStorageIdFor(batchId: string, idempotencyKey: string | undefined): string {
  return `ts-${idempotencyKey === undefined ? randomUUID() : derivedEventId('ingest', 'content-key', batchId, idempotencyKey)}`;
}

export const eventIds = {
  registered: (batchId: string) => derivedEventId('ingest', 'registered', batchId),
  provisioned: (batchId: string, textStorageId: string) =>
    derivedEventId('ingest', 'provisioned', batchId, textStorageId),
  validationFailed: (batchId: string, textStorageId: string) =>
    derivedEventId('ingest', 'validation-failed', batchId, textStorageId),
};

/** The service's own checks of an essay text; the reason starts with the rule's name. Undefined: it passes. */
export function textProblem(text: string, bytes: number, maxTextBytes: number): string | undefined {
  if (text.trim() === '') return 'empty: the text is empty or only whitespace';
  if (bytes > maxTextBytes) return `too_large: the text is ${bytes} bytes, more than the limit of ${maxTextBytes}`;
  const nul = text.indexOf('\u0000');
  if (nul >= 0) return `contains_nul: the text contains a NUL character at index ${nul}`;
  return undefined;
}

function sameInstant(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Date.parse(a) === Date.parse(b);
}

export class Ingest {
  constructor(
    private readonly store: IngestStore,
    private readonly opts: IngestOptions,
    private readonly log: Logger,
  ) {}

  async registerBatch(input: RegisterBatchInput): Promise<RegisterBatchResult> {
    const event = checked(BatchRegistered, {
      event_id: eventIds.registered(input.batchId),
      event_type: EventType.BatchRegistered,
      correlation_id: input.correlationId,
      occurred_at: new Date().toISOString(),
      data: {
        batch_id: input.batchId,
        essay_ids: [...input.essayIds],
        ...(input.deadline === undefined ? {} : { deadline: input.deadline }),
      },
    });
    const record: BatchRecord = { ...input, event };
    // A conflicting request changes nothing: judged inside the transaction, before anything is queued.
    let differences: string[] = [];
    const { inserted, stored } = await this.store.insertBatch(record, (row, first) => {
      differences = [];
      if (!first) {
        if (row.essayIds.join('\u001f') !== input.essayIds.join('\u001f')) differences.push('essay_ids');
        if (!sameInstant(row.deadline, input.deadline)) differences.push('deadline');
      }
      return differences.length > 0 ? undefined : { topic: this.opts.topics.batchRegistered, key: input.batchId };
    });
    if (differences.length > 0) throw new ConflictError('batch', input.batchId, differences);
    this.opts.onQueued?.();
    this.log.debug(
      {
        batchId: input.batchId,
        eventId: stored.event.event_id,
        firstSeen: inserted,
        correlationId: stored.event.correlation_id,
      },
      'batch registered',
    );
    return { batchId: input.batchId, eventId: stored.event.event_id, essayIds: stored.essayIds, firstSeen: inserted };
  }

  async uploadContent(input: UploadContentInput): Promise<UploadContentResult> {
    const body = Buffer.from(input.text, 'utf8');
    const textStorageId = textStorageIdFor(input.batchId, input.idempotencyKey);
    const problem = textProblem(input.text, body.length, this.opts.maxTextBytes);
    const envelope = { correlation_id: input.correlationId, occurred_at: new Date().toISOString() };
    const event =
      problem === undefined
        ? checked(ContentProvisioned, {
            ...envelope,
            event_id: eventIds.provisioned(input.batchId, textStorageId),
            event_type: EventType.ContentProvisioned,
            data: {
              batch_id: input.batchId,
              text_storage_id: textStorageId,
              original_file_name: input.originalFileName,
            },
          })
        : checked(ValidationFailedV2, {
            ...envelope,
            event_id: eventIds.validationFailed(input.batchId, textStorageId),
            event_type: EventType.ValidationFailedV2,
            data: {
              batch_id: input.batchId,
              upload_id: textStorageId,
              original_file_name: input.originalFileName,
              reason: problem,
            },
          });
    const record: ContentRecord = {
      textStorageId,
      batchId: input.batchId,
      originalFileName: input.originalFileName,
      byteLength: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      outcome: problem === undefined ? 'provisioned' : 'validation_failed',
      failureReason: problem,
      event,
    };
    // The same key with other content is a client bug; answering with the first upload's outcome would hide it.
    let differences: string[] = [];
    const { inserted, stored } = await this.store.insertContent(
      { ...record, body, idempotencyKey: input.idempotencyKey },
      (row, first) => {
        differences = [];
        if (!first) {
          if (row.originalFileName !== record.originalFileName) differences.push('original_file_name');
          if (row.sha256 !== record.sha256) differences.push('text');
        }
        if (differences.length > 0) return undefined;
        const topic =
          row.outcome === 'provisioned' ? this.opts.topics.contentProvisioned : this.opts.topics.validationFailed;
        return { topic, key: input.batchId };
      },
    );
    if (differences.length > 0) throw new ConflictError('content', textStorageId, differences);
    this.opts.onQueued?.();
    if (inserted) this.opts.onContentStored?.(body.length);
    this.log.debug(
      {
        batchId: input.batchId,
        textStorageId,
        eventId: stored.event.event_id,
        outcome: stored.outcome,
        firstSeen: inserted,
        correlationId: stored.event.correlation_id,
      },
      'content accepted',
    );
    return stored.outcome === 'provisioned'
      ? { outcome: 'provisioned', textStorageId, eventId: stored.event.event_id, firstSeen: inserted }
      : {
          outcome: 'validation_failed',
          textStorageId,
          reason: stored.failureReason ?? '',
          eventId: stored.event.event_id,
          firstSeen: inserted,
        };
  }
}

/**
 * Every event leaves only after its contract schema accepted it. The request
 * schemas are built from the same contracts, so a failure here is a defect of
 * this service, not of the request.
 */
function checked<S extends z.ZodType>(schema: S, event: z.input<S>): z.output<S> {
  const r = schema.safeParse(event);
  if (!r.success) throw new IngestError(`built an event its contract rejects: ${r.error.message}`);
  return r.data;
}
