/**
 * Topic names. A deployment (or a lab run) may put every topic behind a
 * prefix so that several runs can share one broker without seeing each
 * other's messages.
 */
import { EventType } from './events.js';

export interface Topics {
  readonly batchRegistered: string;
  readonly contentProvisioned: string;
  readonly validationFailed: string;
  readonly slotAssigned: string;
  readonly excessContent: string;
  readonly batchReady: string;
  readonly batchTimedOut: string;
  readonly deadLetter: string;
}

/** Builds the topic names under `prefix` (default: none). */
export function topics(prefix = ''): Topics {
  return {
    batchRegistered: `${prefix}batch.registered`,
    contentProvisioned: `${prefix}essay.content.provisioned`,
    validationFailed: `${prefix}essay.validation.failed`,
    slotAssigned: `${prefix}essay.slot.assigned`,
    excessContent: `${prefix}essay.content.excess`,
    batchReady: `${prefix}batch.ready`,
    batchTimedOut: `${prefix}batch.timed_out`,
    deadLetter: `${prefix}coordinator.dead_letter`,
  };
}

/**
 * The largest message a real Kafka broker accepts by default (`message.max.bytes`, 1 MiB plus record
 * overhead); the Docker stack keeps the default. The lab's local broker accepts more, so the lab holds
 * every output to this limit itself.
 */
export const KAFKA_MESSAGE_MAX_BYTES = 1_048_588;

/**
 * The codec every output is produced with. A broker holds `message.max.bytes` against the record batch as
 * stored, that is compressed, so this is what an output's size is measured after: a `batch.ready` of the
 * contract's maximum (10,000 essays) is ≈ 1.6 MB of JSON but ≈ 0.6 MB gzip-compressed.
 */
export const OUTPUT_COMPRESSION = 'gzip';

export function inputTopics(t: Topics): string[] {
  return [t.batchRegistered, t.contentProvisioned, t.validationFailed];
}

export function outputTopics(t: Topics): string[] {
  return [t.slotAssigned, t.excessContent, t.batchReady, t.batchTimedOut, t.deadLetter];
}

/** The topic an event type travels on. */
export function topicFor(t: Topics, type: EventType): string {
  switch (type) {
    case EventType.BatchRegistered:
      return t.batchRegistered;
    case EventType.ContentProvisioned:
      return t.contentProvisioned;
    case EventType.ValidationFailed:
    case EventType.ValidationFailedV2:
      return t.validationFailed;
    case EventType.SlotAssigned:
      return t.slotAssigned;
    case EventType.ExcessContent:
      return t.excessContent;
    case EventType.BatchReady:
      return t.batchReady;
    case EventType.BatchTimedOut:
      return t.batchTimedOut;
    case EventType.DeadLetter:
      return t.deadLetter;
  }
}
