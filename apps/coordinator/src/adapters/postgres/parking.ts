/**
 * Parking: an input whose batch is not registered yet waits in
 * `pending_inputs`, parked under the batch's lock (so a registration cannot
 * slip in between), and is drained when the registration is processed or by
 * the sweeper. An input parked longer than the TTL for a batch still not
 * registered is announced by a dead letter, once, and stays parked for a late
 * registration until the retention passes. The settling writes remove the
 * parked copy of what they settle ({@link unparkContent}, {@link unparkFailure}).
 */
import type pg from 'pg';
import { eventIds, EventType, type Topics } from '@chaos-lab/contracts';
import { failureKey, type ContentInput, type FailureInput, type InputSource } from '../../domain/ports.js';
import type { Database } from './database.js';
import { asBuffer, deadLetterData, storableKey } from './dead-letter.js';
import { enqueue } from './outbox.js';
import { batchRow, sameFailure } from './rows.js';
import { batchTransaction } from './transaction.js';

/** Removes the parked copy of a content now settled. */
export async function unparkContent(tx: pg.ClientBase, c: Pick<ContentInput, 'batchId' | 'textStorageId'>) {
  await tx.query(`DELETE FROM pending_inputs WHERE batch_id = $1 AND kind = 'content' AND input_key = $2`, [
    c.batchId,
    c.textStorageId,
  ]);
}

/** Removes the parked copy of a failure now settled (by its identity, whatever the copy's reason). */
export async function unparkFailure(tx: pg.ClientBase, f: FailureInput): Promise<void> {
  await tx.query(`DELETE FROM pending_inputs WHERE batch_id = $1 AND kind = 'failure' AND ${sameFailure(2, 3)}`, [
    f.batchId,
    f.originalFileName,
    f.uploadId ?? null,
  ]);
}

interface Parked {
  kind: 'content' | 'failure';
  key: string;
  fileName: string;
  uploadId: string | null;
  reason: string | null;
  correlationId: string;
  source: InputSource | undefined;
}

export class PgParking {
  constructor(
    private readonly db: Database,
    private readonly topics: Topics,
  ) {}

  parkContent(c: ContentInput) {
    return this.park('park_content', c.batchId, {
      kind: 'content',
      key: c.textStorageId,
      fileName: c.originalFileName,
      uploadId: null,
      reason: null,
      correlationId: c.correlationId,
      source: c.source,
    });
  }

  parkFailure(f: FailureInput) {
    return this.park('park_failure', f.batchId, {
      kind: 'failure',
      key: failureKey(f),
      fileName: f.originalFileName,
      uploadId: f.uploadId ?? null,
      reason: f.reason,
      correlationId: f.correlationId,
      source: f.source,
    });
  }

  /**
   * Parks an input once: a redelivery hits a unique index (content and v1 failures by `input_key`, v2
   * failures by `upload_id`) and is an idempotent success.
   */
  private park(op: string, batchId: string, p: Parked) {
    return batchTransaction(this.db, op, batchId, async (tx): Promise<'parked' | 'registered'> => {
      if (await batchRow(tx, batchId)) return 'registered';
      const src = p.source;
      await tx.query(
        `INSERT INTO pending_inputs (batch_id, kind, input_key, original_file_name, upload_id, reason, correlation_id,
                                     source_topic, source_partition, source_offset, source_value, source_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
        [
          batchId,
          p.kind,
          p.key,
          p.fileName,
          p.uploadId,
          p.reason,
          p.correlationId,
          src?.topic ?? null,
          src?.partition ?? null,
          src?.offset ?? null,
          src?.value == null ? null : asBuffer(src.value),
          src?.key == null ? null : asBuffer(src.key),
        ],
      );
      return 'parked';
    });
  }

  pendingOf(batchId: string): Promise<{ contents: ContentInput[]; failures: FailureInput[] }> {
    return this.db.run('pending_of', async () => {
      const r = await this.db.pool.query<{
        kind: 'content' | 'failure';
        input_key: string;
        original_file_name: string;
        upload_id: string | null;
        reason: string | null;
        correlation_id: string;
      }>(
        `SELECT kind, input_key, original_file_name, upload_id, reason, correlation_id FROM pending_inputs
          WHERE batch_id = $1 ORDER BY received_at, input_key, id`,
        [batchId],
      );
      const contents: ContentInput[] = [];
      const failures: FailureInput[] = [];
      for (const p of r.rows) {
        if (p.kind === 'content')
          contents.push({
            batchId,
            textStorageId: p.input_key,
            originalFileName: p.original_file_name,
            correlationId: p.correlation_id,
          });
        else
          failures.push({
            batchId,
            originalFileName: p.original_file_name,
            ...(p.upload_id === null ? {} : { uploadId: p.upload_id }),
            reason: p.reason ?? '',
            correlationId: p.correlation_id,
          });
      }
      return { contents, failures };
    });
  }

  batchesWithPending(limit: number): Promise<string[]> {
    return this.db.run('batches_with_pending', async () => {
      const r = await this.db.pool.query<{ batch_id: string }>(
        `SELECT DISTINCT p.batch_id FROM pending_inputs p JOIN batches b USING (batch_id) LIMIT $1`,
        [limit],
      );
      return r.rows.map((x) => x.batch_id);
    });
  }

  unregisteredWithExpiredParking(ttlMs: number, limit: number): Promise<string[]> {
    return this.db.run('unregistered_expired_parking', async () => {
      const r = await this.db.pool.query<{ batch_id: string }>(
        `SELECT p.batch_id FROM pending_inputs p
          WHERE p.dead_lettered_at IS NULL
            AND p.received_at < now() - make_interval(secs => $1::double precision / 1000)
            AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.batch_id = p.batch_id)
          GROUP BY p.batch_id ORDER BY min(p.received_at) LIMIT $2`,
        [ttlMs, limit],
      );
      return r.rows.map((x) => x.batch_id);
    });
  }

  announceExpiredParking(batchId: string, ttlMs: number, retentionMs: number): Promise<number> {
    return batchTransaction(this.db, 'announce_expired_parking', batchId, async (tx) => {
      // Under the batch's lock, as registration and parking: a registration that committed first wins.
      if (await batchRow(tx, batchId)) return 0;
      const r = await tx.query<{
        kind: 'content' | 'failure';
        input_key: string;
        correlation_id: string;
        received_at: Date;
        source_topic: string | null;
        source_partition: number | null;
        source_offset: string | null;
        source_value: Buffer | null;
        source_key: Buffer | null;
      }>(
        `UPDATE pending_inputs SET dead_lettered_at = now()
          WHERE batch_id = $1 AND dead_lettered_at IS NULL
            AND received_at < now() - make_interval(secs => $2::double precision / 1000)
          RETURNING kind, input_key, correlation_id, received_at,
                    source_topic, source_partition, source_offset, source_value, source_key`,
        [batchId, ttlMs],
      );
      for (const row of r.rows) {
        const known = row.source_topic !== null && row.source_partition !== null && row.source_offset !== null;
        const topic =
          row.source_topic ?? (row.kind === 'content' ? this.topics.contentProvisioned : this.topics.validationFailed);
        const id = known
          ? eventIds.deadLetter(topic, row.source_partition!, row.source_offset!)
          : eventIds.orphan(batchId, row.kind, row.input_key);
        await enqueue(
          tx,
          this.topics.deadLetter,
          storableKey(row.source_key),
          EventType.DeadLetter,
          id,
          row.correlation_id,
          deadLetterData({
            reason:
              `batch ${batchId} was not registered within ${seconds(ttlMs)} of this input (parked at ` +
              `${row.received_at.toISOString()}); it stays parked, and is assigned if the batch is registered ` +
              `within ${seconds(retentionMs)} from now`,
            sourceTopic: topic,
            sourcePartition: known ? row.source_partition! : -1,
            sourceOffset: known ? row.source_offset! : '-1',
            value: row.source_value,
            key: row.source_key,
            unregisteredBatchId: batchId,
          }),
        );
      }
      return r.rows.length;
    });
  }

  forgetAnnouncedParking(retentionMs: number, limit: number): Promise<number> {
    return this.db.run('forget_announced_parking', async () => {
      const r = await this.db.pool.query(
        `DELETE FROM pending_inputs WHERE ctid IN (
           SELECT p.ctid FROM pending_inputs p
            WHERE p.dead_lettered_at < now() - make_interval(secs => $1::double precision / 1000)
              AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.batch_id = p.batch_id)
            LIMIT $2)`,
        [retentionMs, limit],
      );
      return r.rowCount ?? 0;
    });
  }
}

/** A duration for people: seconds under two hours, else hours. */
function seconds(ms: number): string {
  return ms < 7_200_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 3_600_000)} h`;
}
