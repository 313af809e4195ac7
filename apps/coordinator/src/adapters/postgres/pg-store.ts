/**
 * {@link BatchStore} on PostgreSQL — the source of truth.
 *
 * Every write to a batch runs in one transaction that first takes a
 * transaction-scoped advisory lock on the batch id. That serialises all
 * writers of one batch across instances (so "is every slot settled?" is
 * answered on a state no one else is changing) while different batches
 * proceed in parallel. Each write re-checks the cache's proposal against the
 * rows and answers `conflict` instead of trusting it. Events leave through the
 * `outbox` table in the same transaction as the change they describe, with
 * ids derived from their subject, so a retried step inserts nothing twice.
 */
import pg from 'pg';
import { storableText } from '@chaos-lab/service-kit';
import {
  eventIds,
  EventType,
  DEAD_LETTER_RAW_LIMIT,
  deadLetterText,
  type AssignedEssay,
  type BatchReady,
  type DeadLetter,
  type ExcessReason,
  type Topics,
  type ValidationFailure,
} from '@chaos-lab/contracts';
import {
  failureKey,
  type BatchSnapshot,
  type BatchStatus,
  type BatchStore,
  type BatchView,
  type ContentInput,
  type DeadLetterInput,
  type FailureInput,
  type InputSource,
  type Registration,
  type SettleItem,
  type StoreWrite,
  type SweepAgenda,
} from '../../domain/ports.js';
import { DependencyError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import { migrate } from './migrations.js';

export interface PgStoreOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly topics: Topics;
}

interface SlotRow {
  essay_id: string;
  state: 'free' | 'assigned' | 'failed';
  text_storage_id: string | null;
  original_file_name: string | null;
  failure_reason: string | null;
  upload_id: string | null;
}

type Tx = pg.PoolClient;

/**
 * SQL matching the rows of one validation failure in a table with `original_file_name` and `upload_id`
 * (slots, excess_failures, pending_inputs), given the parameter numbers of its file name and upload id (null
 * for v1): the same identity as {@link failureKey} — the upload for v2, the file name among v1 rows for v1.
 */
function sameFailure(fileNameParam: number, uploadIdParam: number): string {
  const upload = `$${uploadIdParam}::text`;
  return `(CASE WHEN ${upload} IS NULL THEN upload_id IS NULL AND original_file_name = $${fileNameParam}
                ELSE upload_id = ${upload} END)`;
}

/**
 * SQLSTATEs worth retrying: the classes connection, transaction rollback, resources, operator intervention
 * and system; and two codes of passing states: 25006 (read-only transaction: a standby during a failover)
 * and 55P03 (lock not available).
 */
/** A read-only transaction refused a write: the server is a standby (or set read-only). */
const READ_ONLY_SQLSTATE = '25006';
const RETRIABLE_SQLSTATE = /^(08|40|53|57|58)|^(25006|55P03)$/;

export function isRetriablePgError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  // No SQLSTATE means the error came from the connection (refused, reset, timed out), not from the server.
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return RETRIABLE_SQLSTATE.test(code);
}

/**
 * Members a subclass may use are `protected` only so that the lab's known-bad
 * variants (`src/variants/`) can replace one step; production never subclasses.
 */
export class PgBatchStore implements BatchStore {
  protected readonly pool: pg.Pool;
  /** Called after every committed write (which may have enqueued outbox rows). */
  afterCommit: (() => void) | undefined;

  constructor(
    protected readonly opts: PgStoreOptions,
    private readonly metrics: Metrics,
  ) {
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      connectionTimeoutMillis: 3000,
      statement_timeout: opts.statementTimeoutMs,
      query_timeout: opts.statementTimeoutMs + 1000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its connection emits here; the pool drops it and the next checkout reconnects.
    this.pool.on('error', () => {});
    // And every client keeps a listener of its own for its whole life: between the pool's idle listener and a
    // query's or a checkout's, a client that got PostgreSQL's FATAL 57P01 (a restart) with none emitted 'error'
    // unhandled and killed the process (fuzz seed 13, postgres-restart). The failure still surfaces on the
    // client's next query, and the pool does not reuse a client whose connection ended.
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  /**
   * Checks a client out of the pool with an 'error' listener attached. A
   * checked-out client whose connection dies between two queries emits
   * 'error'; the pool only listens on idle clients, and an 'error' event with
   * no listener kills the process. (The lab found this: a Postgres restart
   * took down every instance.) The failure itself surfaces on the next query.
   */
  private async checkout(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    let broken = false;
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    const release = client.release.bind(client);
    client.release = (destroy?: boolean | Error) => {
      client.removeListener('error', onError);
      // A client whose connection died must not go back to the pool.
      return release(broken || destroy);
    };
    return client;
  }

  async migrate(): Promise<number[]> {
    return this.run('migrate', async () => {
      const client = await this.checkout();
      try {
        return await migrate(client);
      } finally {
        client.release();
      }
    });
  }

  /**
   * {@link migrate}, retried while the database is up but refuses writes (SQLSTATE 25006: a standby during a
   * failover) for at most `timeoutMs`. An instance started while Postgres is a standby waits for it to be
   * promoted rather than exit (found by fuzz seed 12: a kill's restart during a postgres-readonly window exited
   * 1 on `CREATE TABLE` in a read-only transaction). An unreachable database still fails the start at once, with
   * its fatal line: the supervisor restarts the instance, and a wrong address is said, not waited on.
   */
  async migrateWhenWritable(timeoutMs: number, onRetry: (err: unknown, attempt: number) => void): Promise<number[]> {
    const deadline = performance.now() + timeoutMs;
    let delay = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.migrate();
      } catch (err) {
        const code = (err instanceof Error ? (err.cause as { code?: unknown } | undefined)?.code : undefined) ?? '';
        if (code !== READ_ONLY_SQLSTATE || performance.now() + delay > deadline) throw err;
        onRetry(err, attempt);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Wraps a call with latency/error metrics and maps connection-level failures to a retriable error. */
  protected async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const end = this.metrics.dependencyLatency.startTimer({ dependency: 'postgres', operation: op });
    try {
      return await fn();
    } catch (err) {
      this.metrics.dependencyErrors.inc({ dependency: 'postgres', operation: op });
      if (isRetriablePgError(err)) throw new DependencyError('postgres', err);
      throw err;
    } finally {
      end();
    }
  }

  /** Runs `fn` in a transaction holding the batch's advisory lock. */
  protected inBatch<T>(op: string, batchId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.run(op, async () => {
      const tx = await this.checkout();
      let broken = false;
      try {
        await tx.query('BEGIN');
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [batchId]);
        const r = await fn(tx);
        await tx.query('COMMIT');
        this.afterCommit?.();
        return r;
      } catch (err) {
        try {
          await tx.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      } finally {
        tx.release(broken);
      }
    });
  }

  protected envelope(type: EventType, eventId: string, correlationId: string, data: unknown) {
    return {
      event_id: eventId,
      event_type: type,
      correlation_id: correlationId,
      occurred_at: new Date().toISOString(),
      data,
    };
  }

  protected async enqueue(
    tx: pg.ClientBase,
    topic: string,
    key: string | null,
    type: EventType,
    eventId: string,
    correlationId: string,
    data: unknown,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO outbox (event_id, topic, message_key, payload) VALUES ($1, $2, $3, $4)
       ON CONFLICT (event_id) DO NOTHING`,
      [eventId, topic, key, JSON.stringify(this.envelope(type, eventId, correlationId, data))],
    );
  }

  protected async batchRow(tx: Tx, batchId: string) {
    const r = await tx.query<{
      status: BatchStatus;
      expected_count: number;
      correlation_id: string;
      deadline: Date | null;
    }>('SELECT status, expected_count, correlation_id, deadline FROM batches WHERE batch_id = $1', [batchId]);
    return r.rows[0];
  }

  private async slots(tx: pg.ClientBase, batchId: string): Promise<SlotRow[]> {
    const r = await tx.query<SlotRow>(
      `SELECT essay_id, state, text_storage_id, original_file_name, failure_reason, upload_id
         FROM slots WHERE batch_id = $1 ORDER BY essay_id`,
      [batchId],
    );
    return r.rows;
  }

  private static partition(rows: SlotRow[]) {
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

  /** Closes the batch as ready when every slot is settled; true if this call closed it. */
  protected async completeIfSettled(tx: Tx, batchId: string, correlationId: string): Promise<boolean> {
    // Under the batch lock nobody else settles a slot, so "none free" cannot change before COMMIT.
    const free = await tx.query(`SELECT 1 FROM slots WHERE batch_id = $1 AND state = 'free' LIMIT 1`, [batchId]);
    if (free.rowCount) return false;
    return this.closeReady(tx, batchId, correlationId);
  }

  /** Marks an open batch ready and announces it; true if this call closed it. */
  protected async closeReady(tx: Tx, batchId: string, correlationId: string): Promise<boolean> {
    const r = await tx.query(
      `UPDATE batches SET status = 'ready', closed_at = now() WHERE batch_id = $1 AND status = 'open'`,
      [batchId],
    );
    if (r.rowCount !== 1) return false;
    const { essays, failures } = PgBatchStore.partition(await this.slots(tx, batchId));
    await this.announceReady(tx, batchId, correlationId, {
      batch_id: batchId,
      essays,
      validation_failures: failures,
    });
    return true;
  }

  /** Queues the batch-ready event in the outbox, in the transaction that closed the batch. */
  protected async announceReady(
    tx: Tx,
    batchId: string,
    correlationId: string,
    data: BatchReady['data'],
  ): Promise<void> {
    await this.enqueue(
      tx,
      this.opts.topics.batchReady,
      batchId,
      EventType.BatchReady,
      eventIds.batchReady(batchId),
      correlationId,
      data,
    );
  }

  async register(r: Registration): Promise<BatchSnapshot> {
    await this.inBatch('register', r.batchId, async (tx) => {
      const ins = await tx.query(
        `INSERT INTO batches (batch_id, expected_count, deadline, correlation_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (batch_id) DO NOTHING`,
        [r.batchId, r.essayIds.length, r.deadline ?? null, r.correlationId],
      );
      if (ins.rowCount === 1) {
        await tx.query(`INSERT INTO slots (batch_id, essay_id) SELECT $1, unnest($2::text[])`, [r.batchId, r.essayIds]);
      }
    });
    const s = await this.snapshot(r.batchId);
    if (!s) throw new Error(`batch ${r.batchId} vanished right after its registration`);
    return s;
  }

  async snapshot(batchId: string): Promise<BatchSnapshot | undefined> {
    return (await this.snapshotsOp('snapshot', [batchId])).get(batchId);
  }

  async snapshots(batchIds: readonly string[]): Promise<Map<string, BatchSnapshot>> {
    return this.snapshotsOp('snapshots', batchIds);
  }

  /**
   * One statement, so one consistent view across the three tables (a statement's snapshot), for any number of
   * batches: each batch's slots (in essay_id order, the order its free list is handed out in) and excess as JSON.
   */
  private async snapshotsOp(op: string, batchIds: readonly string[]): Promise<Map<string, BatchSnapshot>> {
    const out = new Map<string, BatchSnapshot>();
    if (batchIds.length === 0) return out;
    const r = await this.run(op, () =>
      this.pool.query<{
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

  /**
   * Parks an input once: a redelivery hits a unique index (content and v1 failures by `input_key`, v2
   * failures by `upload_id`) and is an idempotent success.
   */
  private park(
    op: string,
    batchId: string,
    p: {
      kind: 'content' | 'failure';
      key: string;
      fileName: string;
      uploadId: string | null;
      reason: string | null;
      correlationId: string;
      source: InputSource | undefined;
    },
  ) {
    return this.inBatch(op, batchId, async (tx): Promise<'parked' | 'registered'> => {
      if (await this.batchRow(tx, batchId)) return 'registered';
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

  async unregisteredWithExpiredParking(ttlMs: number, limit: number): Promise<string[]> {
    return this.run('unregistered_expired_parking', async () => {
      const r = await this.pool.query<{ batch_id: string }>(
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
    return this.inBatch('announce_expired_parking', batchId, async (tx) => {
      // Under the batch's lock, as registration and parking: a registration that committed first wins.
      if (await this.batchRow(tx, batchId)) return 0;
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
          row.source_topic ??
          (row.kind === 'content' ? this.opts.topics.contentProvisioned : this.opts.topics.validationFailed);
        const id = known
          ? eventIds.deadLetter(topic, row.source_partition!, row.source_offset!)
          : eventIds.orphan(batchId, row.kind, row.input_key);
        await this.enqueue(
          tx,
          this.opts.topics.deadLetter,
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

  async forgetAnnouncedParking(retentionMs: number, limit: number): Promise<number> {
    return this.run('forget_announced_parking', async () => {
      const r = await this.pool.query(
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

  async pendingOf(batchId: string) {
    return this.run('pending_of', async () => {
      const r = await this.pool.query<{
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

  async closedWithCacheOpen(limit: number): Promise<{ batchId: string; status: 'ready' | 'timed_out' }[]> {
    return this.run('closed_cache_open', async () => {
      const r = await this.pool.query<{ batch_id: string; status: 'ready' | 'timed_out' }>(
        `SELECT batch_id, status FROM batches WHERE cache_open ORDER BY closed_at LIMIT $1`,
        [limit],
      );
      return r.rows.map((x) => ({ batchId: x.batch_id, status: x.status }));
    });
  }

  async cacheClosed(batchId: string): Promise<void> {
    await this.markCacheClosed('cache_closed', [batchId]);
  }

  async cacheClosedMany(batchIds: readonly string[]): Promise<void> {
    if (batchIds.length > 0) await this.markCacheClosed('cache_closed_many', batchIds);
  }

  private async markCacheClosed(op: string, batchIds: readonly string[]): Promise<void> {
    await this.run(op, () =>
      this.pool.query(
        `UPDATE batches SET cache_open = false, cache_closed = true
          WHERE batch_id = ANY($1::text[]) AND (cache_open OR NOT cache_closed)`,
        [batchIds],
      ),
    );
  }

  async sweepAgenda(limit: number, parkedTtlMs: number, parkedRetentionMs: number): Promise<SweepAgenda> {
    return this.run('sweep_agenda', async () => {
      // Each list is the query of its own method (overdueBatches, closedWithCacheOpen, batchesWithPending,
      // unregisteredWithExpiredParking, forgetAnnouncedParking), as a subquery of one statement.
      const r = await this.pool.query<{
        overdue: string[];
        cache_open: { batchId: string; status: 'ready' | 'timed_out' }[];
        pending: string[];
        expired: string[];
        forgettable: boolean;
      }>({
        name: 'bc_sweep_agenda',
        text: `SELECT
  ARRAY(SELECT batch_id FROM batches WHERE status = 'open' AND deadline <= now() ORDER BY deadline LIMIT $1) AS overdue,
  COALESCE((SELECT json_agg(json_build_object('batchId', q.batch_id, 'status', q.status) ORDER BY q.closed_at)
              FROM (SELECT batch_id, status, closed_at FROM batches WHERE cache_open ORDER BY closed_at LIMIT $1) q),
           '[]'::json) AS cache_open,
  ARRAY(SELECT DISTINCT p.batch_id FROM pending_inputs p JOIN batches b USING (batch_id) LIMIT $1) AS pending,
  ARRAY(SELECT p.batch_id FROM pending_inputs p
         WHERE p.dead_lettered_at IS NULL
           AND p.received_at < now() - make_interval(secs => $2::double precision / 1000)
           AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.batch_id = p.batch_id)
         GROUP BY p.batch_id ORDER BY min(p.received_at) LIMIT $1) AS expired,
  EXISTS (SELECT 1 FROM pending_inputs p
           WHERE p.dead_lettered_at < now() - make_interval(secs => $3::double precision / 1000)
             AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.batch_id = p.batch_id)) AS forgettable`,
        values: [limit, parkedTtlMs, parkedRetentionMs],
      });
      const row = r.rows[0]!;
      return {
        overdue: row.overdue,
        closedWithCacheOpen: row.cache_open,
        withPending: row.pending,
        unregisteredWithExpiredParking: row.expired,
        parkingToForget: row.forgettable,
      };
    });
  }

  async batchesWithPending(limit: number): Promise<string[]> {
    return this.run('batches_with_pending', async () => {
      const r = await this.pool.query<{ batch_id: string }>(
        `SELECT DISTINCT p.batch_id FROM pending_inputs p JOIN batches b USING (batch_id) LIMIT $1`,
        [limit],
      );
      return r.rows.map((x) => x.batch_id);
    });
  }

  /**
   * Whether assignments go statement by statement through the steps a subclass can replace
   * (`completeIfSettled`, `announceReady`) instead of the one-round-trip function. Only the lab's known-bad
   * variants set it: their bugs live in those steps.
   */
  protected readonly stepwise: boolean = false;

  recordAssignment(c: ContentInput, essayId: string): Promise<StoreWrite> {
    if (this.stepwise) return this.recordAssignmentStepwise(c, essayId);
    const assignedId = eventIds.slotAssigned(c.batchId, c.textStorageId);
    return this.run('record_assignment', async () => {
      const r = await this.pool.query<{
        kind: 'recorded' | 'conflict' | 'unregistered';
        detail: string | null;
        completed: boolean;
        status: BatchStatus | null;
      }>({
        // Named: each connection parses and plans it once, and later calls send only Bind/Execute.
        name: 'bc_record_assignment',
        text: 'SELECT kind, detail, completed, status FROM bc_record_assignment($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)',
        values: [
          c.batchId,
          essayId,
          c.textStorageId,
          c.originalFileName,
          c.correlationId,
          this.opts.topics.slotAssigned,
          assignedId,
          JSON.stringify(
            this.envelope(EventType.SlotAssigned, assignedId, c.correlationId, {
              batch_id: c.batchId,
              essay_id: essayId,
              text_storage_id: c.textStorageId,
              original_file_name: c.originalFileName,
            }),
          ),
          this.opts.topics.batchReady,
          eventIds.batchReady(c.batchId),
          EventType.BatchReady,
          new Date().toISOString(),
        ],
      });
      const row = r.rows[0]!;
      if (row.kind === 'unregistered') return { kind: 'unregistered' } as const;
      if (row.kind === 'conflict') return { kind: 'conflict', detail: row.detail ?? '' } as const;
      this.afterCommit?.();
      return { kind: 'recorded', completed: row.completed, status: row.status! } as const;
    }).catch((err: unknown): StoreWrite => {
      // The constraints are the last line: a unique violation means someone else recorded it; re-check.
      if ((err as { code?: string }).code === '23505') return { kind: 'conflict', detail: 'unique violation' };
      throw err;
    });
  }

  /**
   * Whether {@link settleMany} records its items one at a time through the one-input writes instead of in one
   * call of `bc_settle_many`. Only the lab's known-bad variants set it (and {@link stepwise} implies it): their
   * bugs live in those writes, and the batched path must run through them.
   */
  protected readonly settlesOneByOne: boolean = false;

  async settleMany(items: readonly SettleItem[]): Promise<StoreWrite[]> {
    if (this.stepwise || this.settlesOneByOne) {
      const out: StoreWrite[] = [];
      for (const it of items) {
        switch (it.op) {
          case 'assign':
            out.push(await this.recordAssignment(it.input, it.essayId));
            break;
          case 'excess':
            out.push(await this.recordExcess(it.input, it.proposed));
            break;
          case 'failure':
            out.push(await this.recordFailure(it.input, it.essayId));
            break;
          case 'excess_failure':
            out.push(await this.recordExcessFailure(it.input));
            break;
        }
      }
      return out;
    }
    if (items.length === 0) return [];
    const t = this.opts.topics;
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
            payload: this.envelope(EventType.SlotAssigned, id, it.input.correlationId, {
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
    const r = await this.run('settle_many', () =>
      this.pool.query<{
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
    this.afterCommit?.();
    return [...r.rows]
      .sort((a, b) => a.r_ord - b.r_ord)
      .map((row): StoreWrite => {
        if (row.r_kind === 'unregistered') return { kind: 'unregistered' };
        if (row.r_kind === 'conflict') return { kind: 'conflict', detail: row.r_detail ?? '' };
        return { kind: 'recorded', completed: row.r_completed, status: row.r_status! };
      });
  }

  /** The assignment transaction statement by statement (see {@link stepwise}); the function in migration 2 is the same. */
  protected recordAssignmentStepwise(c: ContentInput, essayId: string): Promise<StoreWrite> {
    return this.inBatch('record_assignment', c.batchId, async (tx): Promise<StoreWrite> => {
      const batch = await this.batchRow(tx, c.batchId);
      if (!batch) return { kind: 'unregistered' };
      const held = await tx.query<{ essay_id: string }>(
        `SELECT essay_id FROM slots WHERE batch_id = $1 AND text_storage_id = $2`,
        [c.batchId, c.textStorageId],
      );
      const heldBy = held.rows[0]?.essay_id;
      if (heldBy !== undefined) {
        // Already recorded: an idempotent success if the cache agrees.
        if (heldBy === essayId) return { kind: 'recorded', completed: false, status: batch.status };
        return { kind: 'conflict', detail: `content ${c.textStorageId} holds ${heldBy}, cache offered ${essayId}` };
      }
      if (batch.status !== 'open')
        return { kind: 'conflict', detail: `batch is ${batch.status}, cache offered ${essayId}` };
      const upd = await tx.query(
        `UPDATE slots SET state = 'assigned', text_storage_id = $3, original_file_name = $4, correlation_id = $5, settled_at = now()
          WHERE batch_id = $1 AND essay_id = $2 AND state = 'free'`,
        [c.batchId, essayId, c.textStorageId, c.originalFileName, c.correlationId],
      );
      if (upd.rowCount !== 1) return { kind: 'conflict', detail: `slot ${essayId} is not free` };
      await tx.query(`DELETE FROM pending_inputs WHERE batch_id = $1 AND kind = 'content' AND input_key = $2`, [
        c.batchId,
        c.textStorageId,
      ]);
      await this.enqueue(
        tx,
        this.opts.topics.slotAssigned,
        c.batchId,
        EventType.SlotAssigned,
        eventIds.slotAssigned(c.batchId, c.textStorageId),
        c.correlationId,
        {
          batch_id: c.batchId,
          essay_id: essayId,
          text_storage_id: c.textStorageId,
          original_file_name: c.originalFileName,
        },
      );
      const completed = await this.completeIfSettled(tx, c.batchId, batch.correlation_id);
      return { kind: 'recorded', completed, status: completed ? 'ready' : batch.status };
    }).catch((err: unknown) => {
      // The constraints are the last line: a unique violation means someone else recorded it; re-check.
      if ((err as { code?: string }).code === '23505') return { kind: 'conflict', detail: 'unique violation' } as const;
      throw err;
    });
  }

  recordFailure(f: FailureInput, essayId: string): Promise<StoreWrite> {
    return this.inBatch('record_failure', f.batchId, async (tx): Promise<StoreWrite> => {
      const batch = await this.batchRow(tx, f.batchId);
      if (!batch) return { kind: 'unregistered' };
      const held = await tx.query<{ essay_id: string }>(
        `SELECT essay_id FROM slots WHERE batch_id = $1 AND state = 'failed' AND ${sameFailure(2, 3)}`,
        [f.batchId, f.originalFileName, f.uploadId ?? null],
      );
      const heldBy = held.rows[0]?.essay_id;
      if (heldBy !== undefined) {
        if (heldBy === essayId) return { kind: 'recorded', completed: false, status: batch.status };
        return { kind: 'conflict', detail: `failure ${failureKey(f)} holds ${heldBy}, cache offered ${essayId}` };
      }
      if (batch.status !== 'open')
        return { kind: 'conflict', detail: `batch is ${batch.status}, cache offered ${essayId}` };
      const upd = await tx.query(
        `UPDATE slots SET state = 'failed', original_file_name = $3, upload_id = $4, failure_reason = $5, correlation_id = $6,
                          settled_at = now()
          WHERE batch_id = $1 AND essay_id = $2 AND state = 'free'`,
        [f.batchId, essayId, f.originalFileName, f.uploadId ?? null, f.reason, f.correlationId],
      );
      if (upd.rowCount !== 1) return { kind: 'conflict', detail: `slot ${essayId} is not free` };
      await this.unpark(tx, f);
      const completed = await this.completeIfSettled(tx, f.batchId, batch.correlation_id);
      return { kind: 'recorded', completed, status: completed ? 'ready' : batch.status };
    }).catch((err: unknown) => {
      if ((err as { code?: string }).code === '23505') return { kind: 'conflict', detail: 'unique violation' } as const;
      throw err;
    });
  }

  recordExcess(c: ContentInput, proposed: ExcessReason): Promise<StoreWrite> {
    return this.inBatch('record_excess', c.batchId, async (tx): Promise<StoreWrite> => {
      const batch = await this.batchRow(tx, c.batchId);
      if (!batch) return { kind: 'unregistered' };
      const held = await tx.query<{ essay_id: string }>(
        `SELECT essay_id FROM slots WHERE batch_id = $1 AND text_storage_id = $2`,
        [c.batchId, c.textStorageId],
      );
      if (held.rows[0])
        return {
          kind: 'conflict',
          detail: `content ${c.textStorageId} holds ${held.rows[0].essay_id}, cache said excess`,
        };
      const prior = await tx.query<{ reason: ExcessReason }>(
        'SELECT reason FROM excess_contents WHERE batch_id = $1 AND text_storage_id = $2',
        [c.batchId, c.textStorageId],
      );
      let reason = prior.rows[0]?.reason;
      if (reason === undefined) {
        if (batch.status === 'open') {
          const free = await tx.query(`SELECT 1 FROM slots WHERE batch_id = $1 AND state = 'free' LIMIT 1`, [
            c.batchId,
          ]);
          if (free.rowCount) return { kind: 'conflict', detail: `cache said ${proposed} but a slot is free` };
          reason = 'no_free_slot';
        } else {
          reason = 'batch_closed';
        }
        await tx.query(
          `INSERT INTO excess_contents (batch_id, text_storage_id, original_file_name, reason) VALUES ($1, $2, $3, $4)`,
          [c.batchId, c.textStorageId, c.originalFileName, reason],
        );
      }
      await tx.query(`DELETE FROM pending_inputs WHERE batch_id = $1 AND kind = 'content' AND input_key = $2`, [
        c.batchId,
        c.textStorageId,
      ]);
      await this.enqueue(
        tx,
        this.opts.topics.excessContent,
        c.batchId,
        EventType.ExcessContent,
        eventIds.excess(c.batchId, c.textStorageId),
        c.correlationId,
        { batch_id: c.batchId, text_storage_id: c.textStorageId, original_file_name: c.originalFileName, reason },
      );
      return { kind: 'recorded', completed: false, status: batch.status };
    });
  }

  recordExcessFailure(f: FailureInput): Promise<StoreWrite> {
    return this.inBatch('record_excess_failure', f.batchId, async (tx): Promise<StoreWrite> => {
      const batch = await this.batchRow(tx, f.batchId);
      if (!batch) return { kind: 'unregistered' };
      const held = await tx.query(
        `SELECT essay_id FROM slots WHERE batch_id = $1 AND state = 'failed' AND ${sameFailure(2, 3)}`,
        [f.batchId, f.originalFileName, f.uploadId ?? null],
      );
      if (held.rowCount) return { kind: 'conflict', detail: `failure ${failureKey(f)} already settles a slot` };
      if (batch.status === 'open') {
        const free = await tx.query(`SELECT 1 FROM slots WHERE batch_id = $1 AND state = 'free' LIMIT 1`, [f.batchId]);
        if (free.rowCount) return { kind: 'conflict', detail: 'cache said no free slot but a slot is free' };
      }
      // Once per identity: a redelivery hits excess_failures_one_per_file (v1) or _one_per_upload (v2).
      await tx.query(
        `INSERT INTO excess_failures (batch_id, original_file_name, upload_id, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [f.batchId, f.originalFileName, f.uploadId ?? null, f.reason],
      );
      await this.unpark(tx, f);
      return { kind: 'recorded', completed: false, status: batch.status };
    });
  }

  /** Removes the parked copy of a failure now settled (by its identity, whatever the copy's reason). */
  private async unpark(tx: Tx, f: FailureInput): Promise<void> {
    await tx.query(`DELETE FROM pending_inputs WHERE batch_id = $1 AND kind = 'failure' AND ${sameFailure(2, 3)}`, [
      f.batchId,
      f.originalFileName,
      f.uploadId ?? null,
    ]);
  }

  async overdueBatches(limit: number): Promise<string[]> {
    return this.run('overdue_batches', async () => {
      // now(): Postgres' clock, the same for every instance (a deadline is an instant; each instance's own
      // clock is not).
      const r = await this.pool.query<{ batch_id: string }>(
        `SELECT batch_id FROM batches WHERE status = 'open' AND deadline <= now() ORDER BY deadline LIMIT $1`,
        [limit],
      );
      return r.rows.map((x) => x.batch_id);
    });
  }

  timeOut(batchId: string): Promise<boolean> {
    return this.inBatch('time_out', batchId, async (tx) => {
      const upd = await tx.query<{ correlation_id: string }>(
        `UPDATE batches SET status = 'timed_out', closed_at = now(), cache_closed = false
          WHERE batch_id = $1 AND status = 'open' AND deadline <= now() RETURNING correlation_id`,
        [batchId],
      );
      const row = upd.rows[0];
      if (!row) return false;
      const { essays, failures, free } = PgBatchStore.partition(await this.slots(tx, batchId));
      await this.enqueue(
        tx,
        this.opts.topics.batchTimedOut,
        batchId,
        EventType.BatchTimedOut,
        eventIds.batchTimedOut(batchId),
        row.correlation_id,
        {
          batch_id: batchId,
          essays,
          validation_failures: failures,
          missing_essay_ids: free,
        },
      );
      return true;
    });
  }

  /**
   * Every string here that comes from the input goes through {@link deadLetterText} or base64, and the row's
   * key is kept only when it is storable text: PostgreSQL refuses NUL in text and jsonb and a lone surrogate
   * in jsonb, and a refused dead letter would be retried for ever in front of its partition.
   */
  async deadLetter(d: DeadLetterInput): Promise<void> {
    await this.run('dead_letter', async () => {
      const id = eventIds.deadLetter(d.sourceTopic, d.sourcePartition, d.sourceOffset);
      await this.enqueue(
        this.pool as unknown as pg.ClientBase,
        this.opts.topics.deadLetter,
        storableKey(d.key === null ? null : asBuffer(d.key)),
        EventType.DeadLetter,
        id,
        id,
        deadLetterData(d),
      );
      this.afterCommit?.();
    });
  }

  async view(batchId: string): Promise<BatchView | undefined> {
    return this.run('view', async () => {
      const b = await this.pool.query<{ status: BatchStatus; expected_count: number; deadline: Date | null }>(
        'SELECT status, expected_count, deadline FROM batches WHERE batch_id = $1',
        [batchId],
      );
      const row = b.rows[0];
      if (!row) return undefined;
      const { essays, failures, free } = PgBatchStore.partition(
        await this.slots(this.pool as unknown as pg.ClientBase, batchId),
      );
      const excess = await this.pool.query<{ text_storage_id: string; reason: string }>(
        'SELECT text_storage_id, reason FROM excess_contents WHERE batch_id = $1 ORDER BY text_storage_id',
        [batchId],
      );
      return {
        batchId,
        status: row.status,
        expected: row.expected_count,
        deadline: row.deadline?.toISOString() ?? null,
        essays,
        validationFailures: failures,
        freeEssayIds: free,
        excess: excess.rows,
      };
    });
  }

  async ping(): Promise<void> {
    await this.run('ping', () => this.pool.query('SELECT 1'));
  }

  /**
   * Claims up to `limit` unpublished outbox rows that are not set aside
   * (skipping rows another instance holds), hands them to `publish`, and
   * records its {@link RelayOutcome} in the same transaction: published rows
   * are marked so, refused ones get an attempt counted or are set aside for
   * good. A crash before the commit republishes them (same event ids:
   * at-least-once with recognisable duplicates), never loses them. Rows the
   * outcome does not name (a retriable failure) are left as they were.
   */
  async relayOutbox(limit: number, publish: (rows: OutboxRow[]) => Promise<RelayOutcome>): Promise<number> {
    return this.run('relay_outbox', async () => {
      const tx = await this.checkout();
      let broken = false;
      try {
        await tx.query('BEGIN');
        const r = await tx.query<OutboxRow>(
          `SELECT id, event_id, topic, message_key, payload::text AS payload, publish_attempts FROM outbox
            WHERE published_at IS NULL AND set_aside_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        if (r.rows.length > 0) {
          const outcome = await publish(r.rows);
          if (outcome.published.length > 0)
            await tx.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [outcome.published]);
          if (outcome.failed.length > 0)
            await tx.query(
              `UPDATE outbox o SET publish_attempts = o.publish_attempts + 1, last_error = f.error
                 FROM unnest($1::bigint[], $2::text[]) AS f (id, error) WHERE o.id = f.id`,
              [outcome.failed.map((f) => f.id), outcome.failed.map((f) => storableText(f.error))],
            );
          if (outcome.setAside.length > 0)
            await tx.query(
              `UPDATE outbox o SET set_aside_at = now(), set_aside_reason = a.reason,
                      publish_attempts = o.publish_attempts + a.attempted::int
                 FROM unnest($1::bigint[], $2::text[], $3::boolean[]) AS a (id, reason, attempted) WHERE o.id = a.id`,
              [
                outcome.setAside.map((a) => a.id),
                outcome.setAside.map((a) => storableText(a.reason)),
                outcome.setAside.map((a) => a.attempted),
              ],
            );
        }
        await tx.query('COMMIT');
        return r.rows.length;
      } catch (err) {
        await tx.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      } finally {
        tx.release(broken);
      }
    });
  }

  /** Unpublished outbox rows and the age of the oldest one (0 when none): the relay's backlog and lag. */
  async outboxPending(): Promise<{ rows: number; oldestAgeSeconds: number; setAside: number }> {
    return this.run('outbox_pending', async () => {
      // Set-aside rows are unpublished too: one scan of outbox_unpublished counts both.
      const r = await this.pool.query<{ n: string; age: number | null; aside: string }>(
        `SELECT count(*) FILTER (WHERE set_aside_at IS NULL) AS n,
                extract(epoch FROM now() - min(created_at) FILTER (WHERE set_aside_at IS NULL))::float8 AS age,
                count(*) FILTER (WHERE set_aside_at IS NOT NULL) AS aside
           FROM outbox WHERE published_at IS NULL`,
      );
      return {
        rows: Number(r.rows[0]?.n ?? 0),
        oldestAgeSeconds: Math.max(0, r.rows[0]?.age ?? 0),
        setAside: Number(r.rows[0]?.aside ?? 0),
      };
    });
  }
}

/** A dead letter's data: every string from the input made storable, the exact bytes in base64. */
function deadLetterData(d: DeadLetterInput & { unregisteredBatchId?: string }): DeadLetter['data'] {
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

/** A duration for people: seconds under two hours, else hours. */
function seconds(ms: number): string {
  return ms < 7_200_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 3_600_000)} h`;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The key as text when that text is exact and storable (valid UTF-8 without NUL); else null. */
function storableKey(key: Buffer | null): string | null {
  if (key === null) return null;
  const text = key.toString('utf8');
  return !text.includes('\u0000') && Buffer.from(text, 'utf8').equals(key) ? text : null;
}

export interface OutboxRow {
  id: string;
  event_id: string;
  topic: string;
  message_key: string | null;
  payload: string;
  /** Sends of this row that failed non-retriably so far. */
  publish_attempts: number;
}

/** What a relay pass did with the rows it claimed; a row in none of the lists stays as it was. */
export interface RelayOutcome {
  /** Ids of the rows the broker acknowledged. */
  readonly published: readonly string[];
  /** Rows a send failed for, non-retriably: the attempt is counted and the row is claimed again later. */
  readonly failed: readonly { readonly id: string; readonly error: string }[];
  /**
   * Rows that will not be published: out of every later claim, with the reason. `attempted`: the last
   * send of it failed (and counts as an attempt), as opposed to a row refused without being sent.
   */
  readonly setAside: readonly { readonly id: string; readonly reason: string; readonly attempted: boolean }[];
}
