/**
 * The ingest store on PostgreSQL (schema `ingest`). Each write is one
 * transaction: `INSERT … ON CONFLICT DO NOTHING` of the row (the first writer
 * of an id wins, a later writer reads back what the winner stored), then the
 * stored row's event queued in `ingest.outbox` — new, or marked unpublished
 * again for a client's retry. The read-back is a second statement on purpose:
 * a single statement's snapshot predates a concurrent winner's commit and
 * could miss its row. The relay claims outbox rows with `FOR UPDATE SKIP
 * LOCKED`, so instances share the backlog without waiting on each other.
 */
import pg from 'pg';
import { storableText } from '@chaos-lab/service-kit';
import type { BatchRegistered, InputEvent } from '@chaos-lab/contracts';
import { DependencyError, IngestError } from '../../errors.js';
import type {
  BatchRecord,
  ContentOutcome,
  ContentRecord,
  IngestStore,
  OutboxEntry,
  OutboxMessage,
  RelayOutcome,
  Stored,
} from '../../domain/ports.js';
import { migrate } from './migrations.js';

/** Non-retriable refusals of one outbox row before it is set aside (the first may be a broker's passing state). */

export const REFUSALS_BEFORE_SET_ASIDE = 3;

export interface PgStoreOptions {
  readonly url: string;
  readonly poolSize: number;
  /** Bound on waiting for a pooled connection, so an unreachable server answers 503 soon. Default 2000 ms. */
  readonly connectionTimeoutMs?: number;
  /** Server-side bound on one statement. Default 5000 ms. */
  readonly statementTimeoutMs?: number;
  /** Called with the number of uploads each first-sight statement inserted together. */
  readonly onFirstSightGroup?: (uploads: number) => void;
}

interface ContentRow {
  text_storage_id: string;
  batch_id: string;
  original_file_name: string;
  byte_length: number;
  sha256: string;
  outcome: ContentOutcome;
  failure_reason: string | null;
  event: ContentRecord['event'];
}

/**
 * The row of a registration or an upload, its event's JSON the last parameter (after the values below); a row
 * already there is left alone (DO NOTHING) and the caller compares it. Used alone in a transaction and inside
 * the first-sight statement (`insertFirstSight`).
 */
const INSERT_BATCH = `INSERT INTO ingest.batches (batch_id, essay_ids, deadline, event) VALUES ($1, $2, $3, $4)
  ON CONFLICT (batch_id) DO NOTHING RETURNING 1`;
const batchValues = (b: BatchRecord) => [b.batchId, b.essayIds, b.deadline ?? null];
const INSERT_CONTENT = `INSERT INTO ingest.contents (text_storage_id, batch_id, original_file_name, body, byte_length,
                                   sha256, idempotency_key, outcome, failure_reason, event)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
  ON CONFLICT (text_storage_id) DO NOTHING RETURNING 1`;
const contentValues = (c: ContentRecord & { readonly body: Buffer; readonly idempotencyKey: string | undefined }) => [
  c.textStorageId,
  c.batchId,
  c.originalFileName,
  c.body,
  c.byteLength,
  c.sha256,
  c.idempotencyKey ?? null,
  c.outcome,
  c.failureReason ?? null,
];

/**
 * Many first sights of uploads in one statement: the rows from parallel arrays, each row's outbox entry written
 * only if the row was (`insertFirstSight` for many). Returns the ids of the rows inserted.
 */
const INSERT_CONTENTS = `WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::int[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::jsonb[], $11::uuid[], $12::text[], $13::text[])
      AS v (text_storage_id, batch_id, original_file_name, body, byte_length, sha256, idempotency_key, outcome,
            failure_reason, event, event_id, topic, message_key)),
  ins AS (
    INSERT INTO ingest.contents (text_storage_id, batch_id, original_file_name, body, byte_length, sha256,
                                 idempotency_key, outcome, failure_reason, event)
    SELECT text_storage_id, batch_id, original_file_name, body, byte_length, sha256, idempotency_key, outcome,
           failure_reason, event FROM v
    ON CONFLICT (text_storage_id) DO NOTHING RETURNING text_storage_id),
  q AS (
    INSERT INTO ingest.outbox (event_id, topic, message_key, payload)
    SELECT v.event_id, v.topic, v.message_key, v.event FROM v JOIN ins USING (text_storage_id)
    ON CONFLICT (event_id) DO UPDATE SET published_at = NULL
      WHERE ingest.outbox.published_at IS NOT NULL AND ingest.outbox.set_aside_at IS NULL
    RETURNING 1)
  SELECT text_storage_id FROM ins`;

/** Group statements of first sights in flight at once (each on its own connection), and uploads in one. */
const GROUPS_IN_FLIGHT = 2;
const MAX_GROUP = 200;

type NewContent = ContentRecord & { readonly body: Buffer; readonly idempotencyKey: string | undefined };

/** An upload seen for the first time, waiting for its group's statement. */
interface FirstSight {
  readonly c: NewContent;
  readonly out: OutboxEntry;
  resolve(inserted: boolean): void;
  reject(err: unknown): void;
}

export class PgIngestStore implements IngestStore {
  private readonly pool: pg.Pool;
  /** First sights queued while the group statements in flight run (see `insertContentFirstSight`). */
  private readonly firstSights: FirstSight[] = [];
  private groupsInFlight = 0;
  private readonly onFirstSightGroup: ((uploads: number) => void) | undefined;

  constructor(opts: PgStoreOptions) {
    this.onFirstSightGroup = opts.onFirstSightGroup;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      connectionTimeoutMillis: opts.connectionTimeoutMs ?? 2000,
      statement_timeout: opts.statementTimeoutMs ?? 5000,
      application_name: 'ingest',
    });
    // An idle client losing its server emits here; without a listener the process would die.
    this.pool.on('error', () => {});
    // Every client keeps a listener of its own for its whole life, as the coordinator's (a restart's FATAL 57P01
    // reaching a client between two owners' listeners killed a coordinator): failures surface on the next query.
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  async migrate(): Promise<number[]> {
    const client = await this.pool.connect();
    try {
      return await migrate(client);
    } finally {
      client.release();
    }
  }

  async insertBatch(
    b: BatchRecord,
    queue: (stored: BatchRecord, inserted: boolean) => OutboxEntry | undefined,
  ): Promise<Stored<BatchRecord>> {
    // First sight in one statement, as for contents (see insertContent).
    if (await this.insertFirstSight('ingest_insert_batch', INSERT_BATCH, batchValues(b), b.event, queue(b, true)))
      return { inserted: true, stored: b };
    return this.transaction(async (tx) => {
      const ins = await tx.query(INSERT_BATCH, [...batchValues(b), JSON.stringify(b.event)]);
      let result: Stored<BatchRecord>;
      if (ins.rowCount === 1) result = { inserted: true, stored: b };
      else {
        const r = await tx.query<{ essay_ids: string[]; event: BatchRegistered }>(
          'SELECT essay_ids, event FROM ingest.batches WHERE batch_id = $1',
          [b.batchId],
        );
        const row = r.rows[0];
        if (!row) throw new Error(`batch ${b.batchId} conflicted on insert but cannot be read back`);
        result = {
          inserted: false,
          stored: { batchId: b.batchId, essayIds: row.essay_ids, deadline: row.event.data.deadline, event: row.event },
        };
      }
      const out = queue(result.stored, result.inserted);
      if (out !== undefined) await this.queue(tx, out, result.stored.event);
      return result;
    });
  }

  async insertContent(
    c: ContentRecord & { readonly body: Buffer; readonly idempotencyKey: string | undefined },
    queue: (stored: ContentRecord, inserted: boolean) => OutboxEntry | undefined,
  ): Promise<Stored<ContentRecord>> {
    // First sight, the usual case: the row and its outbox entry in one statement (one round trip, atomic on its
    // own). A row already there (a client's retry) takes the transaction below, which compares it.
    const out = queue(c, true);
    if (out !== undefined && (await this.insertContentFirstSight(c, out))) return { inserted: true, stored: c };
    return this.transaction(async (tx) => {
      const ins = await tx.query(INSERT_CONTENT, [...contentValues(c), JSON.stringify(c.event)]);
      let result: Stored<ContentRecord>;
      if (ins.rowCount === 1) result = { inserted: true, stored: c };
      else {
        const r = await tx.query<ContentRow>(
          `SELECT text_storage_id, batch_id, original_file_name, byte_length, sha256, outcome, failure_reason, event
           FROM ingest.contents WHERE text_storage_id = $1`,
          [c.textStorageId],
        );
        const row = r.rows[0];
        if (!row) throw new Error(`content ${c.textStorageId} conflicted on insert but cannot be read back`);
        result = {
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
      }
      const out = queue(result.stored, result.inserted);
      if (out !== undefined) await this.queue(tx, out, result.stored.event);
      return result;
    });
  }

  /**
   * An upload's first sight, inserted with the others that arrive meanwhile: while {@link GROUPS_IN_FLIGHT}
   * statements run, new first sights queue, and the next statement takes them all (at most {@link MAX_GROUP}).
   * One upload alone waits for nothing; many in flight share a round trip and a commit. The reply still comes
   * only after its own row and outbox entry are committed. True when the row was inserted; false when it was
   * there already (the caller compares it in a transaction).
   */
  private insertContentFirstSight(c: NewContent, out: OutboxEntry): Promise<boolean> {
    // Two first sights of one id in a statement would queue one outbox row twice: the second goes alone.
    if (this.firstSights.some((f) => f.c.textStorageId === c.textStorageId))
      return this.insertFirstSight('ingest_insert_content', INSERT_CONTENT, contentValues(c), c.event, out);
    return new Promise((resolve, reject) => {
      this.firstSights.push({ c, out, resolve, reject });
      this.flushFirstSights();
    });
  }

  private flushFirstSights(): void {
    while (this.groupsInFlight < GROUPS_IN_FLIGHT && this.firstSights.length > 0) {
      const group = this.firstSights.splice(0, MAX_GROUP);
      this.groupsInFlight++;
      void this.insertGroup(group).finally(() => {
        this.groupsInFlight--;
        this.flushFirstSights();
      });
    }
  }

  private async insertGroup(group: readonly FirstSight[]): Promise<void> {
    this.onFirstSightGroup?.(group.length);
    const alone = async (f: FirstSight) => {
      try {
        f.resolve(
          await this.insertFirstSight('ingest_insert_content', INSERT_CONTENT, contentValues(f.c), f.c.event, f.out),
        );
      } catch (err) {
        f.reject(err);
      }
    };
    if (group.length === 1) return alone(group[0]!);
    const col = <T>(f: (x: FirstSight) => T) => group.map(f);
    let inserted: Set<string>;
    try {
      const r = await this.pool.query<{ text_storage_id: string }>({
        name: 'ingest_insert_contents',
        text: INSERT_CONTENTS,
        values: [
          col((f) => f.c.textStorageId),
          col((f) => f.c.batchId),
          col((f) => f.c.originalFileName),
          col((f) => f.c.body),
          col((f) => f.c.byteLength),
          col((f) => f.c.sha256),
          col((f) => f.c.idempotencyKey ?? null),
          col((f) => f.c.outcome),
          col((f) => f.c.failureReason ?? null),
          col((f) => JSON.stringify(f.c.event)),
          col((f) => f.c.event.event_id),
          col((f) => f.out.topic),
          col((f) => f.out.key),
        ],
      });
      inserted = new Set(r.rows.map((x) => x.text_storage_id));
    } catch {
      // The statement is the group's: one row it refuses fails them all. Each takes its own statement instead,
      // so that only a culprit fails (and a server that is down fails each, as it would have).
      await Promise.all(group.map(alone));
      return;
    }
    for (const f of group) f.resolve(inserted.has(f.c.textStorageId));
  }

  /**
   * Inserts a row seen for the first time and its outbox entry in one statement: `insert` (a named statement
   * `name`) is an INSERT … ON CONFLICT DO NOTHING RETURNING 1 whose last parameter, after `values`, is the
   * event's JSON; the entry is written only if the row was. False when the row was there already (or `out` is
   * undefined): nothing was written, and the caller compares the stored row.
   */
  private async insertFirstSight(
    name: string,
    insert: string,
    values: readonly unknown[],
    event: InputEvent,
    out: OutboxEntry | undefined,
  ): Promise<boolean> {
    if (out === undefined) return false;
    const n = values.length;
    const r = await this.guard(() =>
      this.pool.query<{ inserted: number }>({
        name,
        text: `WITH ins AS (${insert}),
                    q AS (INSERT INTO ingest.outbox (event_id, topic, message_key, payload)
                          SELECT $${n + 2}::uuid, $${n + 3}::text, $${n + 4}::text, $${n + 1}::jsonb FROM ins
                          ON CONFLICT (event_id) DO UPDATE SET published_at = NULL
                            WHERE ingest.outbox.published_at IS NOT NULL AND ingest.outbox.set_aside_at IS NULL
                          RETURNING 1)
               SELECT count(*)::int AS inserted FROM ins`,
        values: [...values, JSON.stringify(event), event.event_id, out.topic, out.key],
      }),
    );
    return r.rows[0]?.inserted === 1;
  }

  /**
   * Queues the event: a new outbox row, or the existing one marked unpublished again (a client's retry
   * republishes, as before the outbox). A row set aside stays aside: retrying cannot make the broker take it.
   */
  private async queue(tx: pg.ClientBase, out: OutboxEntry, event: InputEvent): Promise<void> {
    await tx.query(
      `INSERT INTO ingest.outbox (event_id, topic, message_key, payload) VALUES ($1, $2, $3, $4)
       ON CONFLICT (event_id) DO UPDATE SET published_at = NULL
         WHERE ingest.outbox.published_at IS NOT NULL AND ingest.outbox.set_aside_at IS NULL`,
      [event.event_id, out.topic, out.key, JSON.stringify(event)],
    );
  }

  async relayOutbox(limit: number, publish: (rows: OutboxMessage[]) => Promise<RelayOutcome>): Promise<number> {
    return this.transaction(async (tx) => {
      const r = await tx.query<{
        id: string;
        topic: string;
        message_key: string;
        payload: InputEvent;
        publish_attempts: number;
      }>(
        `SELECT id, topic, message_key, payload, publish_attempts FROM ingest.outbox
          WHERE published_at IS NULL AND set_aside_at IS NULL
          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (r.rows.length === 0) return 0;
      const outcome = await publish(
        r.rows.map((x) => ({
          id: x.id,
          topic: x.topic,
          key: x.message_key,
          event: x.payload,
          attempts: x.publish_attempts,
        })),
      );
      if (outcome.published.length > 0)
        await tx.query('UPDATE ingest.outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [
          outcome.published,
        ]);
      // A retriable failure is the whole send's (the broker unreachable): one statement for all its rows, not one
      // per row on every pass of an outage.
      const transient = outcome.refused.filter((f) => f.retriable);
      if (transient.length > 0)
        await tx.query('UPDATE ingest.outbox SET last_error = $2 WHERE id = ANY($1::bigint[])', [
          transient.map((f) => f.id),
          storableText(transient[0]!.error),
        ]);
      for (const f of outcome.refused.filter((x) => !x.retriable))
        await tx.query(
          `UPDATE ingest.outbox SET last_error = $2, publish_attempts = publish_attempts + 1,
                  set_aside_at = CASE WHEN publish_attempts + 1 >= $3 THEN now() END,
                  set_aside_reason = CASE WHEN publish_attempts + 1 >= $3 THEN $2 END
            WHERE id = $1`,
          [f.id, storableText(f.error), REFUSALS_BEFORE_SET_ASIDE],
        );
      return r.rows.length;
    });
  }

  async outboxBacklog(): Promise<{ rows: number; oldestAgeSeconds: number; setAside: number }> {
    return this.guard(async () => {
      const r = await this.pool.query<{ rows: string; age: number | null; aside: string }>(
        `SELECT count(*) FILTER (WHERE set_aside_at IS NULL) AS rows,
                extract(epoch FROM now() - min(created_at) FILTER (WHERE set_aside_at IS NULL))::float8 AS age,
                count(*) FILTER (WHERE set_aside_at IS NOT NULL) AS aside
           FROM ingest.outbox WHERE published_at IS NULL`,
      );
      const row = r.rows[0];
      return {
        rows: Number(row?.rows ?? 0),
        oldestAgeSeconds: Math.max(0, row?.age ?? 0),
        setAside: Number(row?.aside ?? 0),
      };
    });
  }

  async ping(): Promise<void> {
    await this.guard(() => this.pool.query('SELECT 1'));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Runs `fn` in a transaction; a failure rolls back, and a client whose rollback failed is discarded. */
  private async transaction<T>(fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.guard(async () => {
      const tx = await this.pool.connect();
      // A checked-out client whose connection dies emits 'error'; the failure surfaces on its next query.
      const onError = () => {};
      tx.on('error', onError);
      let broken = false;
      try {
        await tx.query('BEGIN');
        const r = await fn(tx);
        await tx.query('COMMIT');
        return r;
      } catch (err) {
        await tx.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      } finally {
        tx.off('error', onError);
        tx.release(broken);
      }
    });
  }

  private async guard<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof IngestError) throw err;
      throw new DependencyError('postgres', err);
    }
  }
}
