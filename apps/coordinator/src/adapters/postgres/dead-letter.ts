/**
 * Dead letters: an input that could not be processed, queued in the outbox
 * with its exact bytes. Every string here that comes from the input goes
 * through `deadLetterText` or base64, and the row's key is kept only when it
 * is storable text: PostgreSQL refuses NUL in text and jsonb and a lone
 * surrogate in jsonb, and a refused dead letter would be retried for ever in
 * front of its partition.
 */
import type pg from 'pg';
import { eventIds, EventType, DEAD_LETTER_RAW_LIMIT, deadLetterText, type DeadLetter } from '@chaos-lab/contracts';
import type { DeadLetterInput } from '../../domain/ports.js';
import type { Database } from './database.js';
import { enqueue } from './outbox.js';

/** Queues the dead letter of an input, on its own (no transaction), and wakes the relay. */
export async function queueDeadLetter(db: Database, topic: string, d: DeadLetterInput): Promise<void> {
  await db.run('dead_letter', async () => {
    const id = eventIds.deadLetter(d.sourceTopic, d.sourcePartition, d.sourceOffset);
    await enqueue(
      db.pool as unknown as pg.ClientBase,
      topic,
      storableKey(d.key === null ? null : asBuffer(d.key)),
      EventType.DeadLetter,
      id,
      id,
      deadLetterData(d),
    );
    db.afterCommit?.();
  });
}

/** A dead letter's data: every string from the input made storable, the exact bytes in base64. */
export function deadLetterData(d: DeadLetterInput & { unregisteredBatchId?: string }): DeadLetter['data'] {
  const value = d.value === null ? Buffer.alloc(0) : asBuffer(d.value);
  const key = d.key === null ? null : asBuffer(d.key);
  return {
    reason: deadLetterText(d.reason),
    source_topic: d.sourceTopic,
    source_partition: d.sourcePartition,
    source_offset: d.sourceOffset,
    raw: deadLetterText(value),
    raw_base64: value.subarray(0, DEAD_LETTER_RAW_LIMIT).toString('base64'),
    raw_bytes: value.length,
    key_base64: key === null ? null : key.subarray(0, DEAD_LETTER_RAW_LIMIT).toString('base64'),
    ...(d.unregisteredBatchId !== undefined && { unregistered_batch_id: d.unregisteredBatchId }),
  };
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The key as text when that text is exact and storable (valid UTF-8 without NUL); else null. */
export function storableKey(key: Buffer | null): string | null {
  if (key === null) return null;
  const text = key.toString('utf8');
  return !text.includes('\u0000') && Buffer.from(text, 'utf8').equals(key) ? text : null;
}
