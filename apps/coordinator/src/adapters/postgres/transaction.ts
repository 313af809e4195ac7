/**
 * The one place the store opens a transaction: check a client out, BEGIN,
 * run the work, COMMIT; on any error ROLLBACK (a client that cannot roll back
 * is destroyed, not pooled again) and rethrow; release the client whatever
 * happened. All of it inside {@link Database.run}, under the caller's
 * operation name.
 */
import type pg from 'pg';
import type { Database } from './database.js';

/** A client inside an open transaction. */
export type Tx = pg.PoolClient;

export interface TransactionOptions {
  /**
   * Takes `pg_advisory_xact_lock(hashtextextended(lockBatch, 0))` first: every writer of one batch, on every
   * instance, holds it, so they are serialised while different batches proceed in parallel.
   */
  readonly lockBatch?: string;
  /** Calls the database's {@link Database.afterCommit} after COMMIT: the work may have enqueued outbox rows. */
  readonly notifyCommit?: boolean;
}

export function transaction<T>(
  db: Database,
  op: string,
  fn: (tx: Tx) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  return db.run(op, async () => {
    const tx = await db.checkout();
    let broken = false;
    try {
      await tx.query('BEGIN');
      if (opts.lockBatch !== undefined)
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [opts.lockBatch]);
      const r = await fn(tx);
      await tx.query('COMMIT');
      if (opts.notifyCommit) db.afterCommit?.();
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

/** A write to one batch: a transaction holding the batch's advisory lock, announced to the relay once committed. */
export function batchTransaction<T>(db: Database, op: string, batchId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return transaction(db, op, fn, { lockBatch: batchId, notifyCommit: true });
}

/** Runs `fn` with a client of its own (no transaction: `fn` owns what it runs), released afterwards. */
export async function withClient<T>(db: Database, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.checkout();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}
