/**
 * What the sweeper reads and marks: batches past their deadline, batches
 * closed in Postgres whose Redis entry is not known to be closed (and the
 * marks that say it is now), and a pass's whole agenda in one statement.
 */
import type { SweepAgenda } from '../../domain/ports.js';
import type { Database } from './database.js';

export class PgSweep {
  constructor(private readonly db: Database) {}

  overdueBatches(limit: number): Promise<string[]> {
    return this.db.run('overdue_batches', async () => {
      // now(): Postgres' clock, the same for every instance (a deadline is an instant; each instance's own
      // clock is not).
      const r = await this.db.pool.query<{ batch_id: string }>(
        `SELECT batch_id FROM batches WHERE status = 'open' AND deadline <= now() ORDER BY deadline LIMIT $1`,
        [limit],
      );
      return r.rows.map((x) => x.batch_id);
    });
  }

  closedWithCacheOpen(limit: number): Promise<{ batchId: string; status: 'ready' | 'timed_out' }[]> {
    return this.db.run('closed_cache_open', async () => {
      const r = await this.db.pool.query<{ batch_id: string; status: 'ready' | 'timed_out' }>(
        `SELECT batch_id, status FROM batches WHERE cache_open ORDER BY closed_at LIMIT $1`,
        [limit],
      );
      return r.rows.map((x) => ({ batchId: x.batch_id, status: x.status }));
    });
  }

  /** Records that the batches' cache entries are closed, in one statement, under the operation name `op`. */
  async markCacheClosed(op: string, batchIds: readonly string[]): Promise<void> {
    await this.db.run(op, () =>
      this.db.pool.query(
        `UPDATE batches SET cache_open = false, cache_closed = true
          WHERE batch_id = ANY($1::text[]) AND (cache_open OR NOT cache_closed)`,
        [batchIds],
      ),
    );
  }

  agenda(limit: number, parkedTtlMs: number, parkedRetentionMs: number): Promise<SweepAgenda> {
    return this.db.run('sweep_agenda', async () => {
      // Each list is the query of its own method (overdueBatches, closedWithCacheOpen, batchesWithPending,
      // unregisteredWithExpiredParking, forgetAnnouncedParking), as a subquery of one statement.
      const r = await this.db.pool.query<{
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
}
