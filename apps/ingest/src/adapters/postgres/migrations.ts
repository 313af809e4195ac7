/**
 * Versioned migrations of the `ingest` schema, applied at start-up under a
 * session advisory lock so that instances starting together apply each
 * version exactly once. The schema shares a database with the coordinator's
 * tables and keeps its own migration ledger; the lock key differs from the
 * coordinator's so neither waits for the other. A migration is never edited
 * after release; a change is a new version.
 */
import type pg from 'pg';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'batches and contents',
    sql: `
-- One row per registered batch. The event is kept as first built, so a client
-- retry republishes the very same message (same event id, same occurred_at).
CREATE TABLE ingest.batches (
  batch_id       text PRIMARY KEY,
  essay_ids      text[] NOT NULL CHECK (cardinality(essay_ids) > 0),
  deadline       timestamptz,
  event          jsonb NOT NULL,
  registered_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per stored upload, whatever its validation outcome: the row is what
-- makes an Idempotency-Key retry return the same outcome and event id. The
-- body is bytea because PostgreSQL text cannot hold NUL, and a text with NUL
-- is stored too (and reported as failing validation).
CREATE TABLE ingest.contents (
  text_storage_id     text PRIMARY KEY,
  batch_id            text NOT NULL,
  original_file_name  text NOT NULL,
  body                bytea NOT NULL,
  byte_length         integer NOT NULL CHECK (byte_length = octet_length(body)),
  sha256              text NOT NULL,
  idempotency_key     text,
  outcome             text NOT NULL CHECK (outcome IN ('provisioned', 'validation_failed')),
  failure_reason      text,
  event               jsonb NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((outcome = 'validation_failed') = (failure_reason IS NOT NULL))
);
CREATE INDEX contents_by_batch ON ingest.contents (batch_id);
`,
  },
];

/** Arbitrary constant identifying the ingest migration lock among advisory locks (the coordinator uses another). */
export const MIGRATION_LOCK = 7_300_113;

export async function migrate(client: pg.ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query('CREATE SCHEMA IF NOT EXISTS ingest');
    await client.query(
      `CREATE TABLE IF NOT EXISTS ingest.schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM ingest.schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO ingest.schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
