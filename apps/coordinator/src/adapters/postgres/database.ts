/**
 * The store's connection to PostgreSQL: one pool, clients checked out with an
 * error listener of their own, and {@link Database.run}, which every call to
 * the database goes through for its latency and error metrics and for the
 * rule that a connection-level failure is retriable.
 */
import pg from 'pg';
import { DependencyError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
}

/** A read-only transaction refused a write: the server is a standby (or set read-only). */
export const READ_ONLY_SQLSTATE = '25006';

/**
 * SQLSTATEs worth retrying: the classes connection, transaction rollback, resources, operator intervention
 * and system; and two codes of passing states: 25006 (read-only transaction: a standby during a failover)
 * and 55P03 (lock not available).
 */
const RETRIABLE_SQLSTATE = /^(08|40|53|57|58)|^(25006|55P03)$/;

export function isRetriablePgError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  // No SQLSTATE means the error came from the connection (refused, reset, timed out), not from the server.
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return RETRIABLE_SQLSTATE.test(code);
}

export class Database {
  readonly pool: pg.Pool;
  /** Called after every committed write that may have enqueued outbox rows (the relay's wake-up). */
  afterCommit: (() => void) | undefined;

  constructor(
    opts: DatabaseOptions,
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
   * A client whose connection died is destroyed on release, not pooled again.
   */
  async checkout(): Promise<pg.PoolClient> {
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

  /** Wraps a call with latency/error metrics and maps connection-level failures to a retriable error. */
  async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
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

  async close(): Promise<void> {
    await this.pool.end();
  }
}
