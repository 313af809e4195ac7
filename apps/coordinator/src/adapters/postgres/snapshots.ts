/**
 * Batch snapshots (what a cache entry is rebuilt from), read in one
 * statement: one consistent view across the three tables (a statement's
 * snapshot), for any number of batches.
 */
import type { ExcessReason } from '@chaos-lab/contracts';
import { failureKey, type BatchSnapshot, type BatchStatus } from '../../domain/ports.js';
import type { Database } from './database.js';
import type { SlotRow } from './rows.js';

/** Each batch's slots (in essay_id order, the order its free list is handed out in) and excess; a batch not registered is absent. */
export async function readSnapshots(
  db: Database,
  op: string,
  batchIds: readonly string[],
): Promise<Map<string, BatchSnapshot>> {
  const out = new Map<string, BatchSnapshot>();
  if (batchIds.length === 0) return out;
  const r = await db.run(op, () =>
    db.pool.query<{
      batch_id: string;
      status: BatchStatus;
      expected_count: number;
      slots: [string, SlotRow['state'], string | null, string | null, string | null][];
      excess: [string, ExcessReason][];
    }>(
      `SELECT b.batch_id, b.status, b.expected_count,
                COALESCE((SELECT json_agg(json_build_array(s.essay_id, s.state, s.text_storage_id,
                                                           s.original_file_name, s.upload_id) ORDER BY s.essay_id)
                            FROM slots s WHERE s.batch_id = b.batch_id), '[]') AS slots,
                COALESCE((SELECT json_agg(json_build_array(e.text_storage_id, e.reason))
                            FROM excess_contents e WHERE e.batch_id = b.batch_id), '[]') AS excess
           FROM batches b WHERE b.batch_id = ANY($1::text[])`,
      [batchIds],
    ),
  );
  for (const row of r.rows) {
    const free: string[] = [];
    const assigned = new Map<string, string>();
    const failed = new Map<string, string>();
    for (const [essayId, state, textStorageId, originalFileName, uploadId] of row.slots) {
      if (state === 'free') free.push(essayId);
      else if (state === 'assigned') assigned.set(textStorageId!, essayId);
      else failed.set(failureKey({ originalFileName: originalFileName!, uploadId: uploadId ?? undefined }), essayId);
    }
    out.set(row.batch_id, {
      batchId: row.batch_id,
      status: row.status,
      expected: row.expected_count,
      free,
      assigned,
      failed,
      excess: new Map(row.excess),
    });
  }
  return out;
}
