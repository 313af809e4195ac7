/**
 * {@link BatchStore} on PostgreSQL — the source of truth.
 *
 * Every write to a batch runs in one transaction that first takes a
 * transaction-scoped advisory lock on the batch id (`transaction.ts`). That
 * serialises all writers of one batch across instances (so "is every slot
 * settled?" is answered on a state no one else is changing) while different
 * batches proceed in parallel. Each write re-checks the cache's proposal
 * against the rows and answers `conflict` instead of trusting it. Events leave
 * through the `outbox` table in the same transaction as the change they
 * describe, with ids derived from their subject, so a retried step inserts
 * nothing twice (`outbox.ts`; the relay's side is {@link PgBatchStore.outbox}).
 *
 * This file holds the record and settle writes and the reads; parking
 * (`parking.ts`), the sweeper's reads (`sweep.ts`), snapshots
 * (`snapshots.ts`) and dead letters (`dead-letter.ts`) are their own modules.
 */
import type pg from 'pg';
import { eventIds, EventType, type ExcessReason, type Topics } from '@chaos-lab/contracts';
import {
  failureKey,
  type BatchSnapshot,
  type BatchStatus,
  type BatchStore,
  type BatchView,
  type ContentInput,
  type DeadLetterInput,
  type FailureInput,
  type Registration,
  type SettleItem,
  type StoreWrite,
  type SweepAgenda,
} from '../../domain/ports.js';
import type { Metrics } from '../../metrics.js';
import { Database, READ_ONLY_SQLSTATE } from './database.js';
import { queueDeadLetter } from './dead-letter.js';
import { migrate } from './migrations.js';
import { enqueue, envelope, PgOutbox } from './outbox.js';
import { PgParking, unparkContent, unparkFailure } from './parking.js';
import { batchRow, partitionSlots, sameFailure, slotRows } from './rows.js';
import { settleManyAtOnce } from './settle-many.js';
import { closeReady, productionSteps, type SettleContext, type SettleSteps } from './settle-steps.js';
import { readSnapshots } from './snapshots.js';
import { PgSweep } from './sweep.js';
import { batchTransaction, withClient } from './transaction.js';

export interface PgStoreOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly topics: Topics;
}

/** The constraints are the last line: a unique violation means someone else recorded it; re-check. */
function uniqueViolationIsConflict(err: unknown): StoreWrite {
  if ((err as { code?: string }).code === '23505') return { kind: 'conflict', detail: 'unique violation' };
  throw err;
}

export class PgBatchStore implements BatchStore {
  /** The outbox as the relay claims it, on this store's pool. */
  readonly outbox: PgOutbox;
  private readonly db: Database;
  private readonly pool: pg.Pool;
  private readonly parking: PgParking;
  private readonly sweep: PgSweep;
  /** Whether settling writes run statement by statement through {@link steps} (given) or as server-side functions. */
  private readonly stepwise: boolean;
  private readonly steps: SettleSteps;

  /**
   * @param steps the steps of the settling writes (see `settle-steps.ts`). Given, every settling write runs
   * statement by statement through them; by default the assignment and a fetched run are one server-side
   * function call each, doing production's steps ({@link productionSteps}) in one round trip.
   */
  constructor(
    private readonly opts: PgStoreOptions,
    metrics: Metrics,
    steps?: SettleSteps,
  ) {
    this.db = new Database(opts, metrics);
    this.pool = this.db.pool;
    this.outbox = new PgOutbox(this.db);
    this.parking = new PgParking(this.db, opts.topics);
    this.sweep = new PgSweep(this.db);
    this.stepwise = steps !== undefined;
    this.steps = steps ?? productionSteps;
  }

  /** Called after every committed write (which may have enqueued outbox rows). */
  get afterCommit(): (() => void) | undefined {
    return this.db.afterCommit;
  }

  set afterCommit(fn: (() => void) | undefined) {
    this.db.afterCommit = fn;
  }

  migrate(): Promise<number[]> {
    return this.db.run('migrate', () => withClient(this.db, migrate));
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
    await this.db.close();
  }

  /**
   * A settling write: a transaction holding the batch's lock, `unregistered` when there is no such batch, else
   * `write` with the batch's row and how to complete it (through {@link steps}).
   */
  private settling(op: string, batchId: string, write: (ctx: SettleContext) => Promise<StoreWrite>) {
    return batchTransaction(this.db, op, batchId, async (tx): Promise<StoreWrite> => {
      const batch = await batchRow(tx, batchId);
      if (!batch) return { kind: 'unregistered' };
      const ctx: SettleContext = {
        tx,
        topics: this.opts.topics,
        batchId,
        batch,
        complete: async () => (await this.steps.isComplete(ctx)) && closeReady(this.steps, ctx),
      };
      return write(ctx);
    });
  }

  async register(r: Registration): Promise<BatchSnapshot> {
    await batchTransaction(this.db, 'register', r.batchId, async (tx) => {
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
    return (await readSnapshots(this.db, 'snapshot', [batchId])).get(batchId);
  }

  snapshots(batchIds: readonly string[]): Promise<Map<string, BatchSnapshot>> {
    return readSnapshots(this.db, 'snapshots', batchIds);
  }

  parkContent(c: ContentInput) {
    return this.parking.parkContent(c);
  }

  parkFailure(f: FailureInput) {
    return this.parking.parkFailure(f);
  }

  pendingOf(batchId: string) {
    return this.parking.pendingOf(batchId);
  }

  unregisteredWithExpiredParking(ttlMs: number, limit: number): Promise<string[]> {
    return this.parking.unregisteredWithExpiredParking(ttlMs, limit);
  }

  announceExpiredParking(batchId: string, ttlMs: number, retentionMs: number): Promise<number> {
    return this.parking.announceExpiredParking(batchId, ttlMs, retentionMs);
  }

  forgetAnnouncedParking(retentionMs: number, limit: number): Promise<number> {
    return this.parking.forgetAnnouncedParking(retentionMs, limit);
  }

  batchesWithPending(limit: number): Promise<string[]> {
    return this.parking.batchesWithPending(limit);
  }

  sweepAgenda(limit: number, parkedTtlMs: number, parkedRetentionMs: number): Promise<SweepAgenda> {
    return this.sweep.agenda(limit, parkedTtlMs, parkedRetentionMs);
  }

  overdueBatches(limit: number): Promise<string[]> {
    return this.sweep.overdueBatches(limit);
  }

  closedWithCacheOpen(limit: number): Promise<{ batchId: string; status: 'ready' | 'timed_out' }[]> {
    return this.sweep.closedWithCacheOpen(limit);
  }

  async cacheClosed(batchId: string): Promise<void> {
    await this.sweep.markCacheClosed('cache_closed', [batchId]);
  }

  async cacheClosedMany(batchIds: readonly string[]): Promise<void> {
    if (batchIds.length > 0) await this.sweep.markCacheClosed('cache_closed_many', batchIds);
  }

  recordAssignment(c: ContentInput, essayId: string): Promise<StoreWrite> {
    if (this.stepwise)
      return this.settling('record_assignment', c.batchId, (ctx) => this.steps.recordAssignment(ctx, c, essayId)).catch(
        uniqueViolationIsConflict,
      );
    const assignedId = eventIds.slotAssigned(c.batchId, c.textStorageId);
    return this.db
      .run('record_assignment', async () => {
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
              envelope(EventType.SlotAssigned, assignedId, c.correlationId, {
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
        this.db.afterCommit?.();
        return { kind: 'recorded', completed: row.completed, status: row.status! } as const;
      })
      .catch(uniqueViolationIsConflict);
  }

  async settleMany(items: readonly SettleItem[]): Promise<StoreWrite[]> {
    // Through the steps, one input at a time: the function would bypass steps that are not production's.
    if (!this.stepwise) return settleManyAtOnce(this.db, this.opts.topics, items);
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

  recordFailure(f: FailureInput, essayId: string): Promise<StoreWrite> {
    return this.settling('record_failure', f.batchId, async ({ tx, batch, complete }): Promise<StoreWrite> => {
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
      await unparkFailure(tx, f);
      const completed = await complete();
      return { kind: 'recorded', completed, status: completed ? 'ready' : batch.status };
    }).catch(uniqueViolationIsConflict);
  }

  recordExcess(c: ContentInput, proposed: ExcessReason): Promise<StoreWrite> {
    return this.settling('record_excess', c.batchId, async ({ tx, batch }): Promise<StoreWrite> => {
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
      await unparkContent(tx, c);
      await enqueue(
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
    return this.settling('record_excess_failure', f.batchId, async ({ tx, batch }): Promise<StoreWrite> => {
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
      await unparkFailure(tx, f);
      return { kind: 'recorded', completed: false, status: batch.status };
    });
  }

  timeOut(batchId: string): Promise<boolean> {
    return batchTransaction(this.db, 'time_out', batchId, async (tx) => {
      const upd = await tx.query<{ correlation_id: string }>(
        `UPDATE batches SET status = 'timed_out', closed_at = now(), cache_closed = false
          WHERE batch_id = $1 AND status = 'open' AND deadline <= now() RETURNING correlation_id`,
        [batchId],
      );
      const row = upd.rows[0];
      if (!row) return false;
      const { essays, failures, free } = partitionSlots(await slotRows(tx, batchId));
      await enqueue(
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

  deadLetter(d: DeadLetterInput): Promise<void> {
    return queueDeadLetter(this.db, this.opts.topics.deadLetter, d);
  }

  view(batchId: string): Promise<BatchView | undefined> {
    return this.db.run('view', async () => {
      const b = await this.pool.query<{ status: BatchStatus; expected_count: number; deadline: Date | null }>(
        'SELECT status, expected_count, deadline FROM batches WHERE batch_id = $1',
        [batchId],
      );
      const row = b.rows[0];
      if (!row) return undefined;
      const { essays, failures, free } = partitionSlots(await slotRows(this.pool as unknown as pg.ClientBase, batchId));
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
    await this.db.run('ping', () => this.pool.query('SELECT 1'));
  }
}
