/**
 * Versioned schema migrations, applied at start-up under a session advisory
 * lock so that several instances starting at once apply each version exactly
 * once, each in its own transaction with its bookkeeping row. A migration is
 * never edited after release; a change is a new version.
 */

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** What is needed of a Postgres connection (node-postgres' `ClientBase` fits). */
export interface SqlClient {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export interface MigrationOptions {
  /** The advisory lock key that serialises this service's migrators (distinct per service sharing a database). */
  readonly lockKey: number;
  /** The bookkeeping table, e.g. `schema_migrations` or `ingest.schema_migrations`. */
  readonly table: string;
  /** Run under the lock before the bookkeeping table is created (e.g. `CREATE SCHEMA IF NOT EXISTS …`). */
  readonly prepare?: string;
}

/** Applies the migrations not yet applied, in version order; returns the versions this call applied. */
export async function runMigrations(
  client: SqlClient,
  migrations: readonly Migration[],
  opts: MigrationOptions,
): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [opts.lockKey]);
  try {
    if (opts.prepare) await client.query(opts.prepare);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${opts.table} (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query<{ version: number }>(`SELECT version FROM ${opts.table}`)).rows.map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query(`INSERT INTO ${opts.table} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [opts.lockKey]);
  }
}
