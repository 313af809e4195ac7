/**
 * The ingest logic: turn an accepted request into a stored row and one input
 * event for the coordinator, so that a retried request is a duplicate
 * delivery and never a second event.
 *
 * Every event id is derived from what the event is about (the batch, or the
 * batch and the text_storage_id), and the event is stored with its row on
 * first sight; a retry publishes the stored event again, byte for byte. The
 * order is store, then publish, then reply: a 202 means both happened. When
 * the publish fails the row stays, and the client's retry (same batch id, or
 * same Idempotency-Key) is what delivers the event — there is no outbox here.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  BatchRegistered,
  ContentProvisioned,
  EventType,
  InputEvent,
  ValidationFailed,
  derivedEventId,
  type Topics,
} from '@chaos-lab/contracts';
import { ConflictError, IngestError } from '../errors.js';
import type { BatchRecord, ContentRecord, EventPublisher, IngestStore } from './ports.js';

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
    private readonly publisher: EventPublisher,
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
    const { inserted, stored } = await this.store.insertBatch(record);
    if (!inserted) {
      const differences: string[] = [];
      if (stored.essayIds.join('\u001f') !== input.essayIds.join('\u001f')) differences.push('essay_ids');
      if (!sameInstant(stored.deadline, input.deadline)) differences.push('deadline');
      if (differences.length > 0) throw new ConflictError('batch', input.batchId, differences);
    }
    await this.publish(this.opts.topics.batchRegistered, input.batchId, stored.event);
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
        : checked(ValidationFailed, {
            ...envelope,
            event_id: eventIds.validationFailed(input.batchId, textStorageId),
            event_type: EventType.ValidationFailed,
            data: { batch_id: input.batchId, original_file_name: input.originalFileName, reason: problem },
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
    const { inserted, stored } = await this.store.insertContent({
      ...record,
      body,
      idempotencyKey: input.idempotencyKey,
    });
    if (inserted) this.opts.onContentStored?.(body.length);
    else {
      // The same key with other content is a client bug; answering with the first upload's outcome would hide it.
      const differences: string[] = [];
      if (stored.originalFileName !== record.originalFileName) differences.push('original_file_name');
      if (stored.sha256 !== record.sha256) differences.push('text');
      if (differences.length > 0) throw new ConflictError('content', textStorageId, differences);
    }
    const topic =
      stored.outcome === 'provisioned' ? this.opts.topics.contentProvisioned : this.opts.topics.validationFailed;
    await this.publish(topic, input.batchId, stored.event);
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

  /** A stored event came back from Postgres: it is checked again on its way out. */
  private async publish(topic: string, key: string, event: InputEvent): Promise<void> {
    await this.publisher.publish(topic, key, checked(InputEvent, event));
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
