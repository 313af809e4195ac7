/**
 * A fetched run of inputs recorded in one round trip: one call of
 * `bc_settle_many` (migration 8), which takes the advisory locks of all the
 * run's batches in one global order and then does, item by item, exactly
 * what each one-input write does.
 */
import { eventIds, EventType, type Topics } from '@chaos-lab/contracts';
import { failureKey, type BatchStatus, type SettleItem, type StoreWrite } from '../../domain/ports.js';
import type { Database } from './database.js';
import { envelope } from './outbox.js';

export async function settleManyAtOnce(db: Database, t: Topics, items: readonly SettleItem[]): Promise<StoreWrite[]> {
  if (items.length === 0) return [];
  const rows = items.map((it) => {
    const b = it.input.batchId;
    const common = {
      op: it.op,
      batch_id: b,
      original_file_name: it.input.originalFileName,
      correlation_id: it.input.correlationId,
      ready_event_id: eventIds.batchReady(b),
    };
    switch (it.op) {
      case 'assign': {
        const id = eventIds.slotAssigned(b, it.input.textStorageId);
        return {
          ...common,
          essay_id: it.essayId,
          text_storage_id: it.input.textStorageId,
          event_id: id,
          payload: envelope(EventType.SlotAssigned, id, it.input.correlationId, {
            batch_id: b,
            essay_id: it.essayId,
            text_storage_id: it.input.textStorageId,
            original_file_name: it.input.originalFileName,
          }),
        };
      }
      case 'excess':
        return {
          ...common,
          text_storage_id: it.input.textStorageId,
          proposed: it.proposed,
          event_id: eventIds.excess(b, it.input.textStorageId),
        };
      case 'failure':
        return {
          ...common,
          essay_id: it.essayId,
          upload_id: it.input.uploadId ?? null,
          reason: it.input.reason,
          identity: failureKey(it.input),
        };
      case 'excess_failure':
        return {
          ...common,
          upload_id: it.input.uploadId ?? null,
          reason: it.input.reason,
          identity: failureKey(it.input),
        };
    }
  });
  const r = await db.run('settle_many', () =>
    db.pool.query<{
      r_ord: number;
      r_kind: 'recorded' | 'conflict' | 'unregistered';
      r_detail: string | null;
      r_completed: boolean;
      r_status: BatchStatus | null;
    }>({
      // Named: each connection parses and plans it once.
      name: 'bc_settle_many',
      text: 'SELECT r_ord, r_kind, r_detail, r_completed, r_status FROM bc_settle_many($1::jsonb,$2,$3,$4,$5,$6,$7)',
      values: [
        JSON.stringify(rows),
        t.slotAssigned,
        t.excessContent,
        EventType.ExcessContent,
        t.batchReady,
        EventType.BatchReady,
        new Date().toISOString(),
      ],
    }),
  );
  if (r.rows.length !== items.length)
    throw new Error(`bc_settle_many answered ${r.rows.length} rows for ${items.length} items`);
  db.afterCommit?.();
  return [...r.rows]
    .sort((a, b) => a.r_ord - b.r_ord)
    .map((row): StoreWrite => {
      if (row.r_kind === 'unregistered') return { kind: 'unregistered' };
      if (row.r_kind === 'conflict') return { kind: 'conflict', detail: row.r_detail ?? '' };
      return { kind: 'recorded', completed: row.r_completed, status: row.r_status! };
    });
}
