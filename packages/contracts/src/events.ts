/**
 * Event contracts of the batch coordinator.
 *
 * Every message on every topic is an {@link Envelope}: a small, versioned
 * wrapper (`event_id`, `event_type`, `correlation_id`, `occurred_at`) around a
 * type-specific `data` object. The schemas here are the single definition
 * used by the coordinator to validate what it consumes and by the lab to build
 * workloads and to read what came out; nothing else defines an event's shape.
 */
import { z } from 'zod';

/** Identifiers are opaque, non-empty, bounded strings (they end up in Redis keys and SQL). */
export const Id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'may only contain letters, digits and . _ : -');

const LONE_SURROGATE_IN_TEXT = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Free text from the outside (file names, reasons, correlation ids): bounded, and storable — no NUL
 * (which PostgreSQL's text and jsonb refuse) and no lone surrogate (not Unicode: text columns would
 * silently store U+FFFD, jsonb refuses it). Such input is a schema mismatch at the door, dead-lettered
 * at once with its reason, not a store error met after retries.
 */
export const Text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL (U+0000)')
    .refine((s) => !LONE_SURROGATE_IN_TEXT.test(s), 'must not contain a lone surrogate');

export const EventType = {
  BatchRegistered: 'batch.registered.v1',
  ContentProvisioned: 'essay.content.provisioned.v1',
  ValidationFailed: 'essay.validation.failed.v1',
  /** v1 plus `upload_id`: the failure's identity is its upload, so two uploads of one file name are two failures. */
  ValidationFailedV2: 'essay.validation.failed.v2',
  SlotAssigned: 'essay.slot.assigned.v1',
  ExcessContent: 'essay.content.excess.v1',
  BatchReady: 'batch.ready.v1',
  BatchTimedOut: 'batch.timed_out.v1',
  DeadLetter: 'coordinator.dead_letter.v1',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

const envelopeBase = {
  event_id: z.uuid(),
  correlation_id: Text(200),
  occurred_at: z.iso.datetime({ offset: true }),
};

// ---- inputs -----------------------------------------------------------------

export const BatchRegisteredData = z
  .object({
    batch_id: Id,
    essay_ids: z
      .array(Id)
      .min(1)
      .max(10_000)
      .refine((ids) => new Set(ids).size === ids.length, 'essay_ids must be unique'),
    deadline: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export type BatchRegisteredData = z.infer<typeof BatchRegisteredData>;

export const ContentProvisionedData = z
  .object({
    batch_id: Id,
    text_storage_id: Id,
    original_file_name: Text(500),
  })
  .strict();
export type ContentProvisionedData = z.infer<typeof ContentProvisionedData>;

export const ValidationFailedData = z
  .object({
    batch_id: Id,
    original_file_name: Text(500),
    reason: Text(2000),
  })
  .strict();
export type ValidationFailedData = z.infer<typeof ValidationFailedData>;

export const ValidationFailedV2Data = z
  .object({
    batch_id: Id,
    /** The upload that failed: what makes this failure one, whatever its file name. */
    upload_id: Id,
    original_file_name: Text(500),
    reason: Text(2000),
  })
  .strict();
export type ValidationFailedV2Data = z.infer<typeof ValidationFailedV2Data>;

/**
 * What makes one validation failure the same as another (a redelivery) rather than a second failure:
 * its upload (v2), else, for v1 events, which carry no upload id, its file name — so two uploads of one
 * file name in v1 are still taken as one (the reason v2 exists). Shared by the coordinator (Redis and
 * Postgres keys) and the lab's model.
 *
 * The identities of the two versions never meet: a v2 identity is `upload:<upload_id>`; a v1 identity is
 * the bare file name, except that a name starting with `upload:` or `\` gets one more `\` in front (a v1
 * file may be named `upload:u1`). Bare, as instances of the previous version key v1 failures, so old and
 * new instances agree on v1 events during a rolling upgrade — all but those escaped names.
 */
export function failureIdentity(f: {
  readonly original_file_name: string;
  readonly upload_id?: string | null;
}): string {
  if (f.upload_id) return `upload:${f.upload_id}`;
  const name = f.original_file_name;
  return name.startsWith('upload:') || name.startsWith('\\') ? `\\${name}` : name;
}

export const BatchRegistered = z.object({
  ...envelopeBase,
  event_type: z.literal(EventType.BatchRegistered),
  data: BatchRegisteredData,
});
export const ContentProvisioned = z.object({
  ...envelopeBase,
  event_type: z.literal(EventType.ContentProvisioned),
  data: ContentProvisionedData,
});
export const ValidationFailed = z.object({
  ...envelopeBase,
  event_type: z.literal(EventType.ValidationFailed),
  data: ValidationFailedData,
});
export const ValidationFailedV2 = z.object({
  ...envelopeBase,
  event_type: z.literal(EventType.ValidationFailedV2),
  data: ValidationFailedV2Data,
});

/** Everything the coordinator consumes. */
export const InputEvent = z.discriminatedUnion('event_type', [
  BatchRegistered,
  ContentProvisioned,
  ValidationFailed,
  ValidationFailedV2,
]);
export type InputEvent = z.infer<typeof InputEvent>;
export type BatchRegistered = z.infer<typeof BatchRegistered>;
export type ContentProvisioned = z.infer<typeof ContentProvisioned>;
export type ValidationFailed = z.infer<typeof ValidationFailed>;
export type ValidationFailedV2 = z.infer<typeof ValidationFailedV2>;

// ---- outputs ----------------------------------------------------------------

export const AssignedEssay = z.object({
  essay_id: Id,
  text_storage_id: Id,
  original_file_name: z.string(),
});
export type AssignedEssay = z.infer<typeof AssignedEssay>;

export const ValidationFailure = z.object({
  essay_id: Id,
  original_file_name: z.string(),
  reason: z.string(),
  /** The failed upload, when the failure came as v2. */
  upload_id: Id.optional(),
});
export type ValidationFailure = z.infer<typeof ValidationFailure>;

export const SlotAssigned = z.object({
  ...envelopeBase,
  event_type: z.literal(EventType.SlotAssigned),
  data: z.object({ batch_id: Id, essay_id: Id, text_storage_id: Id, original_file_name: z.string() }),
});
export type SlotAssigned = z.infer<typeof SlotAssigned>;

export const ExcessReason = z.enum(['no_free_slot', 'batch_closed']);
export type ExcessReason = z.infer<typeof ExcessReason>;

export const ExcessContent = z.object({
  ...envelopeBase,
  event_type: z.literal(EventType.ExcessContent),
  data: z.object({ batch_id: Id, text_storage_id: Id, original_file_name: z.string(), reason: ExcessReason }),
});
export type ExcessContent = z.infer<typeof ExcessContent>;

export const BatchReady = z.object({
  ...envelopeBase,
  event_type: z.literal(EventType.BatchReady),
  data: z.object({
    batch_id: Id,
    essays: z.array(AssignedEssay),
    validation_failures: z.array(ValidationFailure),
  }),
});
export type BatchReady = z.infer<typeof BatchReady>;

export const BatchTimedOut = z.object({
  ...envelopeBase,
  event_type: z.literal(EventType.BatchTimedOut),
  data: z.object({
    batch_id: Id,
    essays: z.array(AssignedEssay),
    validation_failures: z.array(ValidationFailure),
    missing_essay_ids: z.array(Id),
  }),
});
export type BatchTimedOut = z.infer<typeof BatchTimedOut>;

export const DeadLetter = z.object({
  ...envelopeBase,
  event_type: z.literal(EventType.DeadLetter),
  data: z.object({
    reason: z.string(),
    source_topic: z.string(),
    source_partition: z.number().int(),
    source_offset: z.string(),
    /**
     * The original message value as text, {@link deadLetterText}: always storable (no NUL, no lone
     * surrogate) and at most {@link DEAD_LETTER_RAW_LIMIT} characters. Lossy for hostile bytes: the exact
     * bytes are in `raw_base64`.
     */
    raw: z.string(),
    /** The first {@link DEAD_LETTER_RAW_LIMIT} bytes of the value, exactly, base64 (absent in older dead letters). */
    raw_base64: z.string().optional(),
    /** The value's whole length in bytes (absent in older dead letters). */
    raw_bytes: z.number().int().nonnegative().optional(),
    /** The message key, exactly, base64 (its first {@link DEAD_LETTER_RAW_LIMIT} bytes); null when it had none. */
    key_base64: z.string().nullable().optional(),
    /**
     * Set when the input itself was valid but its batch was not registered within the coordinator's parking
     * TTL (`COORDINATOR_PARKED_TTL_MS`): an announcement, not a removal — the input stays parked and is assigned
     * if the batch is registered within the retention (`COORDINATOR_PARKED_RETENTION_MS`). Absent for invalid
     * input.
     */
    unregistered_batch_id: z.string().optional(),
  }),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
export const DEAD_LETTER_RAW_LIMIT = 4096;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * What a dead letter's `raw` holds for a message value: the bytes decoded as UTF-8 (an invalid sequence
 * becomes U+FFFD), NUL (which PostgreSQL's text and jsonb refuse) as U+FFFD, cut at
 * {@link DEAD_LETTER_RAW_LIMIT} UTF-16 units without splitting a surrogate pair. Any bytes give a string
 * that JSON, jsonb and Kafka carry; the coordinator writes it and the lab predicts it with this one function.
 */
export function deadLetterText(value: Uint8Array | string | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text =
    typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  // Lone surrogates (possible in a string input, never from decoding bytes) become U+FFFD too.
  let s = text.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
  if (s.length > DEAD_LETTER_RAW_LIMIT) {
    const last = s.charCodeAt(DEAD_LETTER_RAW_LIMIT - 1);
    s = s.slice(0, last >= 0xd800 && last <= 0xdbff ? DEAD_LETTER_RAW_LIMIT - 1 : DEAD_LETTER_RAW_LIMIT);
  }
  return s;
}

/** Everything the coordinator produces. */
export const OutputEvent = z.discriminatedUnion('event_type', [
  SlotAssigned,
  ExcessContent,
  BatchReady,
  BatchTimedOut,
  DeadLetter,
]);
export type OutputEvent = z.infer<typeof OutputEvent>;

/** Largest message value the coordinator accepts; bigger ones are dead-lettered as oversized. */
export const MAX_EVENT_BYTES = 256 * 1024;
