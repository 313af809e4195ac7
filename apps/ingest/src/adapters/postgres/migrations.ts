/**
 * Versioned migrations of the `ingest` schema, applied at start-up under a
 * session advisory lock so that instances starting together apply each
 * version exactly once. The schema shares a database with the coordinator's
 * tables and keeps its own migration ledger; the lock key differs from the
 * coordinator's so neither waits for the other. A migration is never edited
 * after release; a change is a new version.
 */
import type pg from 'pg';
import { runMigrations, type Migration } from '@chaos-lab/service-kit';

export type { Migration };

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
  {
    version: 2,
    name: 'outbox',
    // The event of a stored row used to be published by the request itself, and a failed publish was a 503
    // after the commit: an upload whose client did not retry was stored and never announced. The event now goes
    // into this outbox in the row's transaction, the reply is 202 once that commits, and a relay publishes it.
    // A client retry marks the row unpublished again, so a retry still republishes the same event. A row the
    // broker refuses for good (non-retriable, three times) is set aside with its reason, not retried in front
    // of the others. Rows stored before this version have no outbox row; a retry of one creates it.
    sql: `
CREATE TABLE ingest.outbox (
  id                bigserial PRIMARY KEY,
  event_id          uuid NOT NULL UNIQUE,
  topic             text NOT NULL,
  message_key       text NOT NULL,
  payload           jsonb NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  published_at      timestamptz,
  publish_attempts  integer NOT NULL DEFAULT 0,
  last_error        text,
  set_aside_at      timestamptz,
  set_aside_reason  text,
  CHECK ((set_aside_at IS NULL) = (set_aside_reason IS NULL))
);
CREATE INDEX outbox_unpublished ON ingest.outbox (id) WHERE published_at IS NULL AND set_aside_at IS NULL;
`,
  },
];

/** Arbitrary constant identifying the ingest migration lock among advisory locks (the coordinator uses another). */
export const MIGRATION_LOCK = 7_300_113;

export function migrate(client: pg.ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return runMigrations(client, migrations, {
    lockKey: MIGRATION_LOCK,
    table: 'ingest.schema_migrations',
    prepare: 'CREATE SCHEMA IF NOT EXISTS ingest',
  });
}
