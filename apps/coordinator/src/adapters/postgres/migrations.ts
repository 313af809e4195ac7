/**
 * Versioned schema migrations, applied at start-up under a session advisory
 * lock so that several instances starting at once apply each exactly once.
 * A migration is never edited after release; a change is a new version.
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
    name: 'batches, slots, parked inputs, excess, outbox',
    sql: `
CREATE TABLE batches (
  batch_id        text PRIMARY KEY,
  expected_count  integer NOT NULL CHECK (expected_count > 0),
  deadline        timestamptz,
  status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ready', 'timed_out')),
  correlation_id  text NOT NULL,
  registered_at   timestamptz NOT NULL DEFAULT now(),
  closed_at       timestamptz,
  CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX batches_open_deadline ON batches (deadline) WHERE status = 'open' AND deadline IS NOT NULL;

-- One row per slot. The primary key makes "one content per slot" structural;
-- the unique (batch_id, text_storage_id) makes "one slot per content" a constraint.
CREATE TABLE slots (
  batch_id            text NOT NULL REFERENCES batches (batch_id) ON DELETE CASCADE,
  essay_id            text NOT NULL,
  state               text NOT NULL DEFAULT 'free' CHECK (state IN ('free', 'assigned', 'failed')),
  text_storage_id     text,
  original_file_name  text,
  failure_reason      text,
  correlation_id      text,
  settled_at          timestamptz,
  PRIMARY KEY (batch_id, essay_id),
  UNIQUE (batch_id, text_storage_id),
  CHECK ((state = 'free') = (settled_at IS NULL)),
  CHECK ((state = 'assigned') = (text_storage_id IS NOT NULL)),
  CHECK (state <> 'failed' OR (original_file_name IS NOT NULL AND failure_reason IS NOT NULL))
);
CREATE UNIQUE INDEX slots_one_failure_per_file ON slots (batch_id, original_file_name) WHERE state = 'failed';

CREATE TABLE excess_contents (
  batch_id            text NOT NULL REFERENCES batches (batch_id) ON DELETE CASCADE,
  text_storage_id     text NOT NULL,
  original_file_name  text NOT NULL,
  reason              text NOT NULL CHECK (reason IN ('no_free_slot', 'batch_closed')),
  recorded_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (batch_id, text_storage_id)
);

CREATE TABLE excess_failures (
  batch_id            text NOT NULL REFERENCES batches (batch_id) ON DELETE CASCADE,
  original_file_name  text NOT NULL,
  reason              text NOT NULL,
  recorded_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (batch_id, original_file_name)
);

-- Inputs that arrived before their batch was registered. No foreign key: the batch does not exist yet.
CREATE TABLE pending_inputs (
  batch_id            text NOT NULL,
  kind                text NOT NULL CHECK (kind IN ('content', 'failure')),
  input_key           text NOT NULL,
  original_file_name  text NOT NULL,
  reason              text,
  correlation_id      text NOT NULL,
  received_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (batch_id, kind, input_key)
);

CREATE TABLE outbox (
  id            bigserial PRIMARY KEY,
  event_id      uuid NOT NULL UNIQUE,
  topic         text NOT NULL,
  message_key   text,
  payload       jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
`,
  },
];

/** Arbitrary constant identifying the migration lock among advisory locks. */
const MIGRATION_LOCK = 7_300_112;

export async function migrate(client: pg.ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
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
