/**
 * Reading a batch's rows: its `batches` row, its slots, and the SQL that
 * matches one validation failure by its identity. Used inside the write
 * transactions (under the batch's lock) and by the plain reads.
 */
import type pg from 'pg';
import type { AssignedEssay, ValidationFailure } from '@chaos-lab/contracts';
import type { BatchStatus } from '../../domain/ports.js';

export interface BatchRow {
  status: BatchStatus;
  expected_count: number;
  correlation_id: string;
  deadline: Date | null;
}

export interface SlotRow {
  essay_id: string;
  state: 'free' | 'assigned' | 'failed';
  text_storage_id: string | null;
  original_file_name: string | null;
  failure_reason: string | null;
  upload_id: string | null;
}

export async function batchRow(tx: pg.ClientBase, batchId: string): Promise<BatchRow | undefined> {
  const r = await tx.query<BatchRow>(
    'SELECT status, expected_count, correlation_id, deadline FROM batches WHERE batch_id = $1',
    [batchId],
  );
  return r.rows[0];
}

export async function slotRows(tx: pg.ClientBase, batchId: string): Promise<SlotRow[]> {
  const r = await tx.query<SlotRow>(
    `SELECT essay_id, state, text_storage_id, original_file_name, failure_reason, upload_id
         FROM slots WHERE batch_id = $1 ORDER BY essay_id`,
    [batchId],
  );
  return r.rows;
}

/** A batch's slots as its events list them: assigned essays, validation failures, free essay ids. */
export function partitionSlots(rows: readonly SlotRow[]) {
  const essays: AssignedEssay[] = [];
  const failures: ValidationFailure[] = [];
  const free: string[] = [];
  for (const s of rows) {
    if (s.state === 'assigned')
      essays.push({
        essay_id: s.essay_id,
        text_storage_id: s.text_storage_id!,
        original_file_name: s.original_file_name ?? '',
      });
    else if (s.state === 'failed')
      failures.push({
        essay_id: s.essay_id,
        original_file_name: s.original_file_name!,
        reason: s.failure_reason!,
        // Only when there is one, as bc_record_assignment builds it: a v1 failure has no upload_id key at all.
        ...(s.upload_id === null ? {} : { upload_id: s.upload_id }),
      });
    else free.push(s.essay_id);
  }
  return { essays, failures, free };
}

/**
 * SQL matching the rows of one validation failure in a table with `original_file_name` and `upload_id`
 * (slots, excess_failures, pending_inputs), given the parameter numbers of its file name and upload id (null
 * for v1): the same identity as `failureKey` — the upload for v2, the file name among v1 rows for v1.
 */
export function sameFailure(fileNameParam: number, uploadIdParam: number): string {
  const upload = `$${uploadIdParam}::text`;
  return `(CASE WHEN ${upload} IS NULL THEN upload_id IS NULL AND original_file_name = $${fileNameParam}
                ELSE upload_id = ${upload} END)`;
}
