/**
 * The ingest store on PostgreSQL (schema `ingest`). Every write is one
 * autocommitted `INSERT … ON CONFLICT DO NOTHING`: the first writer of an id
 * wins, and a later writer reads back what the winner stored. The read is a
 * second statement on purpose: a single statement's snapshot predates a
 * concurrent winner's commit and could miss its row.
 */
import pg from 'pg';
import type { BatchRegistered, ContentProvisioned, ValidationFailed } from '@chaos-lab/contracts';
import { DependencyError } from '../../errors.js';
import type { BatchRecord, ContentOutcome, ContentRecord, IngestStore, Stored } from '../../domain/ports.js';
import { migrate } from './migrations.js';

export interface PgStoreOptions {
  readonly url: string;
  readonly poolSize: number;
  /** Bound on waiting for a pooled connection, so an unreachable server answers 503 soon. Default 2000 ms. */
  readonly connectionTimeoutMs?: number;
  /** Server-side bound on one statement. Default 5000 ms. */
  readonly statementTimeoutMs?: number;
}

interface ContentRow {
  text_storage_id: string;
  batch_id: string;
  original_file_name: string;
  byte_length: number;
  sha256: string;
  outcome: ContentOutcome;
  failure_reason: string | null;
  event: ContentProvisioned | ValidationFailed;
}

export class PgIngestStore implements IngestStore {
  private readonly pool: pg.Pool;

  constructor(opts: PgStoreOptions) {
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      connectionTimeoutMillis: opts.connectionTimeoutMs ?? 2000,
      statement_timeout: opts.statementTimeoutMs ?? 5000,
      application_name: 'ingest',
    });
    // An idle client losing its server emits here; without a listener the process would die.
    this.pool.on('error', () => {});
  }

  async migrate(): Promise<number[]> {
    const client = await this.pool.connect();
    try {
      return await migrate(client);
    } finally {
      client.release();
    }
  }

  async insertBatch(b: BatchRecord): Promise<Stored<BatchRecord>> {
    return this.guard(async () => {
      const ins = await this.pool.query(
        `INSERT INTO ingest.batches (batch_id, essay_ids, deadline, event) VALUES ($1, $2, $3, $4)
         ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id`,
        [b.batchId, b.essayIds, b.deadline ?? null, JSON.stringify(b.event)],
      );
      if (ins.rowCount === 1) return { inserted: true, stored: b };
      const r = await this.pool.query<{ essay_ids: string[]; event: BatchRegistered }>(
        'SELECT essay_ids, event FROM ingest.batches WHERE batch_id = $1',
        [b.batchId],
      );
      const row = r.rows[0];
      if (!row) throw new Error(`batch ${b.batchId} conflicted on insert but cannot be read back`);
      return {
        inserted: false,
        stored: { batchId: b.batchId, essayIds: row.essay_ids, deadline: row.event.data.deadline, event: row.event },
      };
    });
  }

  async insertContent(
    c: ContentRecord & { readonly body: Buffer; readonly idempotencyKey: string | undefined },
  ): Promise<Stored<ContentRecord>> {
    return this.guard(async () => {
      const ins = await this.pool.query(
        `INSERT INTO ingest.contents (text_storage_id, batch_id, original_file_name, body, byte_length, sha256,
                                      idempotency_key, outcome, failure_reason, event)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (text_storage_id) DO NOTHING RETURNING text_storage_id`,
        [
          c.textStorageId,
          c.batchId,
          c.originalFileName,
          c.body,
          c.byteLength,
          c.sha256,
          c.idempotencyKey ?? null,
          c.outcome,
          c.failureReason ?? null,
          JSON.stringify(c.event),
        ],
      );
      if (ins.rowCount === 1) return { inserted: true, stored: c };
      const r = await this.pool.query<ContentRow>(
        `SELECT text_storage_id, batch_id, original_file_name, byte_length, sha256, outcome, failure_reason, event
         FROM ingest.contents WHERE text_storage_id = $1`,
        [c.textStorageId],
      );
      const row = r.rows[0];
      if (!row) throw new Error(`content ${c.textStorageId} conflicted on insert but cannot be read back`);
      return {
        inserted: false,
        stored: {
          textStorageId: row.text_storage_id,
          batchId: row.batch_id,
          originalFileName: row.original_file_name,
          byteLength: row.byte_length,
          sha256: row.sha256,
          outcome: row.outcome,
          failureReason: row.failure_reason ?? undefined,
          event: row.event,
        },
      };
    });
  }

  async ping(): Promise<void> {
    await this.guard(() => this.pool.query('SELECT 1'));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async guard<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw new DependencyError('postgres', err);
    }
  }
}
