/**
 * Versioned schema migrations, applied at start-up under a session advisory
 * lock so that several instances starting at once apply each exactly once.
 * A migration is never edited after release; a change is a new version.
 */
import type pg from 'pg';
import { runMigrations, type Migration } from '@chaos-lab/service-kit';

export type { Migration };

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
  {
    version: 2,
    name: 'record_assignment in one round trip',
    // The assignment transaction, statement for statement as the store runs it with productionSteps
    // (settle-steps.ts), as one server-side function: one round trip instead of nine (BEGIN, lock, batch, held
    // slot, update, pending, outbox, free-slot check, COMMIT). The function runs in the caller's implicit
    // transaction, so the advisory lock is held until it returns and every read after the lock sees what the
    // lock's previous holder committed.
    sql: `
CREATE FUNCTION bc_record_assignment(
  p_batch_id text, p_essay_id text, p_text_storage_id text, p_original_file_name text, p_correlation_id text,
  p_assigned_topic text, p_assigned_event_id uuid, p_assigned_payload jsonb,
  p_ready_topic text, p_ready_event_id uuid, p_ready_event_type text, p_occurred_at text,
  OUT kind text, OUT detail text, OUT completed boolean, OUT status text)
LANGUAGE plpgsql AS $fn$
DECLARE
  b_status text;
  b_correlation text;
  held text;
  n integer;
BEGIN
  completed := false;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_batch_id, 0));
  SELECT b.status, b.correlation_id INTO b_status, b_correlation FROM batches b WHERE b.batch_id = p_batch_id;
  IF NOT FOUND THEN
    kind := 'unregistered';
    RETURN;
  END IF;
  SELECT s.essay_id INTO held FROM slots s WHERE s.batch_id = p_batch_id AND s.text_storage_id = p_text_storage_id;
  IF FOUND THEN
    IF held = p_essay_id THEN
      kind := 'recorded';
      status := b_status;
    ELSE
      kind := 'conflict';
      detail := format('content %s holds %s, cache offered %s', p_text_storage_id, held, p_essay_id);
    END IF;
    RETURN;
  END IF;
  IF b_status <> 'open' THEN
    kind := 'conflict';
    detail := format('batch is %s, cache offered %s', b_status, p_essay_id);
    RETURN;
  END IF;
  UPDATE slots SET state = 'assigned', text_storage_id = p_text_storage_id, original_file_name = p_original_file_name,
                   correlation_id = p_correlation_id, settled_at = now()
   WHERE batch_id = p_batch_id AND essay_id = p_essay_id AND state = 'free';
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN
    kind := 'conflict';
    detail := format('slot %s is not free', p_essay_id);
    RETURN;
  END IF;
  DELETE FROM pending_inputs WHERE batch_id = p_batch_id AND pending_inputs.kind = 'content' AND input_key = p_text_storage_id;
  INSERT INTO outbox (event_id, topic, message_key, payload)
       VALUES (p_assigned_event_id, p_assigned_topic, p_batch_id, p_assigned_payload)
  ON CONFLICT (event_id) DO NOTHING;
  kind := 'recorded';
  status := b_status;
  -- Under the batch lock nobody else settles a slot, so "none free" cannot change before the commit.
  IF EXISTS (SELECT 1 FROM slots s WHERE s.batch_id = p_batch_id AND s.state = 'free') THEN
    RETURN;
  END IF;
  UPDATE batches SET status = 'ready', closed_at = now() WHERE batch_id = p_batch_id AND batches.status = 'open';
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN
    RETURN;
  END IF;
  INSERT INTO outbox (event_id, topic, message_key, payload)
  SELECT p_ready_event_id, p_ready_topic, p_batch_id, jsonb_build_object(
           'event_id', p_ready_event_id,
           'event_type', p_ready_event_type,
           'correlation_id', b_correlation,
           'occurred_at', p_occurred_at,
           'data', jsonb_build_object(
             'batch_id', p_batch_id,
             'essays', COALESCE((
               SELECT jsonb_agg(jsonb_build_object('essay_id', s.essay_id, 'text_storage_id', s.text_storage_id,
                                                   'original_file_name', COALESCE(s.original_file_name, ''))
                                ORDER BY s.essay_id)
                 FROM slots s WHERE s.batch_id = p_batch_id AND s.state = 'assigned'), '[]'::jsonb),
             'validation_failures', COALESCE((
               SELECT jsonb_agg(jsonb_build_object('essay_id', s.essay_id, 'original_file_name', s.original_file_name,
                                                   'reason', s.failure_reason)
                                ORDER BY s.essay_id)
                 FROM slots s WHERE s.batch_id = p_batch_id AND s.state = 'failed'), '[]'::jsonb)))
  ON CONFLICT (event_id) DO NOTHING;
  completed := true;
  status := 'ready';
END
$fn$;
`,
  },
  {
    version: 3,
    name: 'validation failures identified by their upload (essay.validation.failed.v2)',
    // A failure is one by its identity: its upload (v2, upload_id set) or, for v1, which has no upload id, its
    // file name (upload_id NULL) — so two uploads of one file name are two failures. Each table that holds
    // failures gets upload_id and one uniqueness per version: v1 rows stay unique by file name, v2 rows are
    // unique by upload. excess_failures and pending_inputs had the file name in their primary key; they get a
    // surrogate key instead (a v1 file name may be any text, so no encoding of both in one text key is free of
    // collisions). Instances of the previous version keep working on v1 events while v2 is not produced: they
    // write upload_id NULL, and their ON CONFLICT DO NOTHING holds for the new indexes. bc_record_assignment
    // keeps its signature (older instances call it too) and only adds upload_id to the ready event's
    // validation_failures when there is one, as partitionSlots (rows.ts) does.
    sql: `
ALTER TABLE slots ADD COLUMN upload_id text;
ALTER TABLE slots ADD CONSTRAINT slots_upload_id_only_failed CHECK (upload_id IS NULL OR state = 'failed');
DROP INDEX slots_one_failure_per_file;
CREATE UNIQUE INDEX slots_one_failure_per_file ON slots (batch_id, original_file_name)
  WHERE state = 'failed' AND upload_id IS NULL;
CREATE UNIQUE INDEX slots_one_failure_per_upload ON slots (batch_id, upload_id)
  WHERE state = 'failed' AND upload_id IS NOT NULL;

ALTER TABLE excess_failures ADD COLUMN upload_id text;
ALTER TABLE excess_failures DROP CONSTRAINT excess_failures_pkey;
ALTER TABLE excess_failures ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
CREATE UNIQUE INDEX excess_failures_one_per_file ON excess_failures (batch_id, original_file_name)
  WHERE upload_id IS NULL;
CREATE UNIQUE INDEX excess_failures_one_per_upload ON excess_failures (batch_id, upload_id)
  WHERE upload_id IS NOT NULL;

-- input_key stays the content's text_storage_id, or the failure's identity (failureIdentity: the file name for
-- v1, upload:<upload_id> for v2) for reading; the uniqueness of a v2 failure is its upload_id.
ALTER TABLE pending_inputs ADD COLUMN upload_id text;
ALTER TABLE pending_inputs ADD CONSTRAINT pending_inputs_upload_id_only_failure
  CHECK (upload_id IS NULL OR kind = 'failure');
ALTER TABLE pending_inputs DROP CONSTRAINT pending_inputs_pkey;
ALTER TABLE pending_inputs ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
CREATE UNIQUE INDEX pending_inputs_one_per_key ON pending_inputs (batch_id, kind, input_key) WHERE upload_id IS NULL;
CREATE UNIQUE INDEX pending_inputs_one_per_upload ON pending_inputs (batch_id, upload_id) WHERE upload_id IS NOT NULL;
CREATE INDEX pending_inputs_batch ON pending_inputs (batch_id);

CREATE OR REPLACE FUNCTION bc_record_assignment(
  p_batch_id text, p_essay_id text, p_text_storage_id text, p_original_file_name text, p_correlation_id text,
  p_assigned_topic text, p_assigned_event_id uuid, p_assigned_payload jsonb,
  p_ready_topic text, p_ready_event_id uuid, p_ready_event_type text, p_occurred_at text,
  OUT kind text, OUT detail text, OUT completed boolean, OUT status text)
LANGUAGE plpgsql AS $fn$
DECLARE
  b_status text;
  b_correlation text;
  held text;
  n integer;
BEGIN
  completed := false;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_batch_id, 0));
  SELECT b.status, b.correlation_id INTO b_status, b_correlation FROM batches b WHERE b.batch_id = p_batch_id;
  IF NOT FOUND THEN
    kind := 'unregistered';
    RETURN;
  END IF;
  SELECT s.essay_id INTO held FROM slots s WHERE s.batch_id = p_batch_id AND s.text_storage_id = p_text_storage_id;
  IF FOUND THEN
    IF held = p_essay_id THEN
      kind := 'recorded';
      status := b_status;
    ELSE
      kind := 'conflict';
      detail := format('content %s holds %s, cache offered %s', p_text_storage_id, held, p_essay_id);
    END IF;
    RETURN;
  END IF;
  IF b_status <> 'open' THEN
    kind := 'conflict';
    detail := format('batch is %s, cache offered %s', b_status, p_essay_id);
    RETURN;
  END IF;
  UPDATE slots SET state = 'assigned', text_storage_id = p_text_storage_id, original_file_name = p_original_file_name,
                   correlation_id = p_correlation_id, settled_at = now()
   WHERE batch_id = p_batch_id AND essay_id = p_essay_id AND state = 'free';
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN
    kind := 'conflict';
    detail := format('slot %s is not free', p_essay_id);
    RETURN;
  END IF;
  DELETE FROM pending_inputs WHERE batch_id = p_batch_id AND pending_inputs.kind = 'content' AND input_key = p_text_storage_id;
  INSERT INTO outbox (event_id, topic, message_key, payload)
       VALUES (p_assigned_event_id, p_assigned_topic, p_batch_id, p_assigned_payload)
  ON CONFLICT (event_id) DO NOTHING;
  kind := 'recorded';
  status := b_status;
  -- Under the batch lock nobody else settles a slot, so "none free" cannot change before the commit.
  IF EXISTS (SELECT 1 FROM slots s WHERE s.batch_id = p_batch_id AND s.state = 'free') THEN
    RETURN;
  END IF;
  UPDATE batches SET status = 'ready', closed_at = now() WHERE batch_id = p_batch_id AND batches.status = 'open';
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN
    RETURN;
  END IF;
  INSERT INTO outbox (event_id, topic, message_key, payload)
  SELECT p_ready_event_id, p_ready_topic, p_batch_id, jsonb_build_object(
           'event_id', p_ready_event_id,
           'event_type', p_ready_event_type,
           'correlation_id', b_correlation,
           'occurred_at', p_occurred_at,
           'data', jsonb_build_object(
             'batch_id', p_batch_id,
             'essays', COALESCE((
               SELECT jsonb_agg(jsonb_build_object('essay_id', s.essay_id, 'text_storage_id', s.text_storage_id,
                                                   'original_file_name', COALESCE(s.original_file_name, ''))
                                ORDER BY s.essay_id)
                 FROM slots s WHERE s.batch_id = p_batch_id AND s.state = 'assigned'), '[]'::jsonb),
             'validation_failures', COALESCE((
               SELECT jsonb_agg(jsonb_build_object('essay_id', s.essay_id, 'original_file_name', s.original_file_name,
                                                   'reason', s.failure_reason)
                                || CASE WHEN s.upload_id IS NULL THEN '{}'::jsonb
                                        ELSE jsonb_build_object('upload_id', s.upload_id) END
                                ORDER BY s.essay_id)
                 FROM slots s WHERE s.batch_id = p_batch_id AND s.state = 'failed'), '[]'::jsonb)))
  ON CONFLICT (event_id) DO NOTHING;
  completed := true;
  status := 'ready';
END
$fn$;
`,
  },
  {
    version: 4,
    name: 'outbox rows the broker refuses are set aside',
    // A row that cannot be published (over the broker's message.max.bytes, or refused non-retriably several
    // times) is set aside with its reason instead of being claimed first by every relay pass for ever, which
    // stopped every output behind it. Set-aside rows stay unpublished (published_at NULL), so they remain in
    // outbox_unpublished, where the relay's backlog query counts them cheaply; they are few. To publish one
    // again (after raising the broker's limit, say), clear set_aside_at, set_aside_reason and publish_attempts.
    sql: `
ALTER TABLE outbox ADD COLUMN publish_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error text;
ALTER TABLE outbox ADD COLUMN set_aside_at timestamptz;
ALTER TABLE outbox ADD COLUMN set_aside_reason text;
ALTER TABLE outbox ADD CONSTRAINT outbox_set_aside_has_reason CHECK ((set_aside_at IS NULL) = (set_aside_reason IS NULL));
ALTER TABLE outbox ADD CONSTRAINT outbox_set_aside_unpublished CHECK (set_aside_at IS NULL OR published_at IS NULL);
`,
  },
  {
    version: 5,
    name: 'a timed-out batch remembers whether its cache entry was closed',
    // A sweep times a batch out in Postgres, then closes its Redis entry. When that close fails (Redis
    // unreachable from the sweeping instance) the batch is no longer open in Postgres, so no later sweep listed
    // it, and Redis kept it open for good. The time-out now sets cache_closed false in its transaction and the
    // close sets it true, so sweeps retry the close until it succeeds. Every other row (and every close by an
    // instance from before this version) defaults to true: nothing to retry.
    sql: `
ALTER TABLE batches ADD COLUMN cache_closed boolean NOT NULL DEFAULT true;
CREATE INDEX batches_cache_open ON batches (closed_at) WHERE NOT cache_closed;
`,
  },
  {
    version: 6,
    name: 'parked inputs of batches never registered are announced, and kept for a late registration',
    // An input parked for a batch that was never registered stayed parked for ever, with no event. A sweep now
    // dead-letters it once it has been parked longer than the TTL (dead_lettered_at set, once), naming its source
    // message and carrying its bytes; the row stays, so a registration that comes later still gets it, and a
    // later sweep forgets rows announced longer ago than the retention. Rows parked by an instance from before
    // this version have no source: their dead letter gets an id derived from the row and its kind's topic.
    sql: `
ALTER TABLE pending_inputs ADD COLUMN source_topic text;
ALTER TABLE pending_inputs ADD COLUMN source_partition integer;
ALTER TABLE pending_inputs ADD COLUMN source_offset text;
ALTER TABLE pending_inputs ADD COLUMN source_value bytea;
ALTER TABLE pending_inputs ADD COLUMN source_key bytea;
ALTER TABLE pending_inputs ADD COLUMN dead_lettered_at timestamptz;
CREATE INDEX pending_inputs_unannounced ON pending_inputs (received_at) WHERE dead_lettered_at IS NULL;
CREATE INDEX pending_inputs_announced ON pending_inputs (dead_lettered_at) WHERE dead_lettered_at IS NOT NULL;
`,
  },
  {
    version: 7,
    name: 'every closed batch remembers whether its cache entry was closed',
    // Version 5 remembered it for time-outs only. A batch made ready by a step whose Redis close then failed
    // (fuzz seed 58: a parked content drained while Redis answered BUSY; the drain failed after its commit and
    // left nothing to retry) stayed open in Redis for good. A trigger now marks cache_open on every row whose
    // status leaves 'open', whoever writes it (the statements and the set-based functions alike); the close
    // clears it, and sweeps close what is still marked, with the row's own status. A new column rather than
    // cache_closed: an instance of versions 5-6 still retries cache_closed as a time-out, and would close a ready
    // batch as timed out.
    sql: `
ALTER TABLE batches ADD COLUMN cache_open boolean NOT NULL DEFAULT false;
CREATE INDEX batches_cache_open_any ON batches (closed_at) WHERE cache_open;
CREATE FUNCTION batches_mark_cache_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.cache_open := true;
  RETURN NEW;
END $$;
CREATE TRIGGER batches_mark_cache_open BEFORE UPDATE OF status ON batches
  FOR EACH ROW WHEN (OLD.status = 'open' AND NEW.status <> 'open') EXECUTE FUNCTION batches_mark_cache_open();
`,
  },
  {
    version: 8,
    name: 'a fetched batch of inputs settled in one round trip',
    // bc_settle_many records many inputs — assignments, excess contents, validation failures and excess failures,
    // of any number of batches — in one transaction and one round trip: the consumer's batched path. It takes
    // the advisory locks of all their batches first, in one global order (by lock key), so two calls sharing
    // batches never wait on each other in a cycle, and a call of the one-input functions (one lock) never
    // either. Then each item does, in order, exactly what its one-input write does (PgBatchStore.recordAssignment
    // = bc_record_assignment, recordExcess, recordFailure, recordExcessFailure) and answers the same
    // (kind, detail, completed, status): a conflict writes nothing of its item, and the others go on. A unique
    // violation still fails the whole call (no per-item savepoint: more than 64 subtransactions in one
    // transaction slow every snapshot of the server); the caller then takes the one-input path for each item.
    // bc_record_assignment is kept as it is: instances of earlier versions call it.
    sql: `
CREATE FUNCTION bc_close_ready(p_batch_id text, p_correlation text, p_ready_topic text, p_ready_event_id uuid,
                               p_ready_event_type text, p_occurred_at text) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
  n integer;
BEGIN
  -- Under the batch lock nobody else settles a slot, so "none free" cannot change before the commit.
  IF EXISTS (SELECT 1 FROM slots s WHERE s.batch_id = p_batch_id AND s.state = 'free') THEN
    RETURN false;
  END IF;
  UPDATE batches SET status = 'ready', closed_at = now() WHERE batch_id = p_batch_id AND batches.status = 'open';
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN
    RETURN false;
  END IF;
  INSERT INTO outbox (event_id, topic, message_key, payload)
  SELECT p_ready_event_id, p_ready_topic, p_batch_id, jsonb_build_object(
           'event_id', p_ready_event_id,
           'event_type', p_ready_event_type,
           'correlation_id', p_correlation,
           'occurred_at', p_occurred_at,
           'data', jsonb_build_object(
             'batch_id', p_batch_id,
             'essays', COALESCE((
               SELECT jsonb_agg(jsonb_build_object('essay_id', s.essay_id, 'text_storage_id', s.text_storage_id,
                                                   'original_file_name', COALESCE(s.original_file_name, ''))
                                ORDER BY s.essay_id)
                 FROM slots s WHERE s.batch_id = p_batch_id AND s.state = 'assigned'), '[]'::jsonb),
             'validation_failures', COALESCE((
               SELECT jsonb_agg(jsonb_build_object('essay_id', s.essay_id, 'original_file_name', s.original_file_name,
                                                   'reason', s.failure_reason)
                                || CASE WHEN s.upload_id IS NULL THEN '{}'::jsonb
                                        ELSE jsonb_build_object('upload_id', s.upload_id) END
                                ORDER BY s.essay_id)
                 FROM slots s WHERE s.batch_id = p_batch_id AND s.state = 'failed'), '[]'::jsonb)))
  ON CONFLICT (event_id) DO NOTHING;
  RETURN true;
END $fn$;

-- p_items: a JSON array of {op, batch_id, ...}, op one of
--   assign:         essay_id, text_storage_id, original_file_name, correlation_id, event_id, payload (slot-assigned)
--   excess:         text_storage_id, original_file_name, correlation_id, proposed (the cache's reason), event_id
--   failure:        essay_id, original_file_name, upload_id (null for v1), reason, correlation_id, identity
--   excess_failure: original_file_name, upload_id, reason, identity
-- each with ready_event_id (the batch's ready event, used if the item completes it).
CREATE FUNCTION bc_settle_many(p_items jsonb, p_assigned_topic text, p_excess_topic text, p_excess_event_type text,
                               p_ready_topic text, p_ready_event_type text, p_occurred_at text)
  RETURNS TABLE (r_ord integer, r_kind text, r_detail text, r_completed boolean, r_status text)
LANGUAGE plpgsql AS $fn$
DECLARE
  lock_key bigint;
  it jsonb;
  i integer;
  b_id text;
  b_status text;
  b_correlation text;
  held text;
  prior text;
  v_reason text;
  n integer;
BEGIN
  FOR lock_key IN
    SELECT DISTINCT hashtextextended(x ->> 'batch_id', 0) FROM jsonb_array_elements(p_items) x ORDER BY 1
  LOOP
    PERFORM pg_advisory_xact_lock(lock_key);
  END LOOP;
  FOR it, i IN SELECT x, o::integer FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e (x, o) LOOP
    r_ord := i;
    r_kind := NULL;
    r_detail := NULL;
    r_completed := false;
    r_status := NULL;
    b_id := it ->> 'batch_id';
    SELECT b.status, b.correlation_id INTO b_status, b_correlation FROM batches b WHERE b.batch_id = b_id;
    IF NOT FOUND THEN
      r_kind := 'unregistered';
      RETURN NEXT;
      CONTINUE;
    END IF;
    CASE it ->> 'op'
    WHEN 'assign' THEN
      SELECT s.essay_id INTO held FROM slots s WHERE s.batch_id = b_id AND s.text_storage_id = it ->> 'text_storage_id';
      IF FOUND THEN
        IF held = it ->> 'essay_id' THEN
          r_kind := 'recorded';
          r_status := b_status;
        ELSE
          r_kind := 'conflict';
          r_detail := format('content %s holds %s, cache offered %s', it ->> 'text_storage_id', held, it ->> 'essay_id');
        END IF;
      ELSIF b_status <> 'open' THEN
        r_kind := 'conflict';
        r_detail := format('batch is %s, cache offered %s', b_status, it ->> 'essay_id');
      ELSE
        UPDATE slots SET state = 'assigned', text_storage_id = it ->> 'text_storage_id',
                         original_file_name = it ->> 'original_file_name', correlation_id = it ->> 'correlation_id',
                         settled_at = now()
         WHERE batch_id = b_id AND essay_id = it ->> 'essay_id' AND state = 'free';
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n <> 1 THEN
          r_kind := 'conflict';
          r_detail := format('slot %s is not free', it ->> 'essay_id');
        ELSE
          DELETE FROM pending_inputs p
           WHERE p.batch_id = b_id AND p.kind = 'content' AND p.input_key = it ->> 'text_storage_id';
          INSERT INTO outbox (event_id, topic, message_key, payload)
               VALUES ((it ->> 'event_id')::uuid, p_assigned_topic, b_id, it -> 'payload')
          ON CONFLICT (event_id) DO NOTHING;
          r_kind := 'recorded';
          r_completed := bc_close_ready(b_id, b_correlation, p_ready_topic, (it ->> 'ready_event_id')::uuid,
                                        p_ready_event_type, p_occurred_at);
          r_status := CASE WHEN r_completed THEN 'ready' ELSE b_status END;
        END IF;
      END IF;
    WHEN 'excess' THEN
      SELECT s.essay_id INTO held FROM slots s WHERE s.batch_id = b_id AND s.text_storage_id = it ->> 'text_storage_id';
      IF FOUND THEN
        r_kind := 'conflict';
        r_detail := format('content %s holds %s, cache said excess', it ->> 'text_storage_id', held);
        RETURN NEXT;
        CONTINUE;
      END IF;
      SELECT e.reason INTO prior FROM excess_contents e
       WHERE e.batch_id = b_id AND e.text_storage_id = it ->> 'text_storage_id';
      v_reason := prior;
      IF v_reason IS NULL THEN
        IF b_status = 'open' THEN
          IF EXISTS (SELECT 1 FROM slots s WHERE s.batch_id = b_id AND s.state = 'free') THEN
            r_kind := 'conflict';
            r_detail := format('cache said %s but a slot is free', it ->> 'proposed');
            RETURN NEXT;
            CONTINUE;
          END IF;
          v_reason := 'no_free_slot';
        ELSE
          v_reason := 'batch_closed';
        END IF;
        INSERT INTO excess_contents (batch_id, text_storage_id, original_file_name, reason)
             VALUES (b_id, it ->> 'text_storage_id', it ->> 'original_file_name', v_reason);
      END IF;
      DELETE FROM pending_inputs p
       WHERE p.batch_id = b_id AND p.kind = 'content' AND p.input_key = it ->> 'text_storage_id';
      INSERT INTO outbox (event_id, topic, message_key, payload)
           VALUES ((it ->> 'event_id')::uuid, p_excess_topic, b_id, jsonb_build_object(
                     'event_id', it ->> 'event_id',
                     'event_type', p_excess_event_type,
                     'correlation_id', it ->> 'correlation_id',
                     'occurred_at', p_occurred_at,
                     'data', jsonb_build_object('batch_id', b_id, 'text_storage_id', it ->> 'text_storage_id',
                                                'original_file_name', it ->> 'original_file_name', 'reason', v_reason)))
      ON CONFLICT (event_id) DO NOTHING;
      r_kind := 'recorded';
      r_status := b_status;
    WHEN 'failure' THEN
      SELECT s.essay_id INTO held FROM slots s
       WHERE s.batch_id = b_id AND s.state = 'failed'
         AND CASE WHEN it ->> 'upload_id' IS NULL
                  THEN s.upload_id IS NULL AND s.original_file_name = it ->> 'original_file_name'
                  ELSE s.upload_id = it ->> 'upload_id' END;
      IF FOUND THEN
        IF held = it ->> 'essay_id' THEN
          r_kind := 'recorded';
          r_status := b_status;
        ELSE
          r_kind := 'conflict';
          r_detail := format('failure %s holds %s, cache offered %s', it ->> 'identity', held, it ->> 'essay_id');
        END IF;
      ELSIF b_status <> 'open' THEN
        r_kind := 'conflict';
        r_detail := format('batch is %s, cache offered %s', b_status, it ->> 'essay_id');
      ELSE
        UPDATE slots SET state = 'failed', original_file_name = it ->> 'original_file_name',
                         upload_id = it ->> 'upload_id', failure_reason = it ->> 'reason',
                         correlation_id = it ->> 'correlation_id', settled_at = now()
         WHERE batch_id = b_id AND essay_id = it ->> 'essay_id' AND state = 'free';
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n <> 1 THEN
          r_kind := 'conflict';
          r_detail := format('slot %s is not free', it ->> 'essay_id');
        ELSE
          DELETE FROM pending_inputs p
           WHERE p.batch_id = b_id AND p.kind = 'failure'
             AND CASE WHEN it ->> 'upload_id' IS NULL
                      THEN p.upload_id IS NULL AND p.original_file_name = it ->> 'original_file_name'
                      ELSE p.upload_id = it ->> 'upload_id' END;
          r_kind := 'recorded';
          r_completed := bc_close_ready(b_id, b_correlation, p_ready_topic, (it ->> 'ready_event_id')::uuid,
                                        p_ready_event_type, p_occurred_at);
          r_status := CASE WHEN r_completed THEN 'ready' ELSE b_status END;
        END IF;
      END IF;
    WHEN 'excess_failure' THEN
      IF EXISTS (SELECT 1 FROM slots s
                  WHERE s.batch_id = b_id AND s.state = 'failed'
                    AND CASE WHEN it ->> 'upload_id' IS NULL
                             THEN s.upload_id IS NULL AND s.original_file_name = it ->> 'original_file_name'
                             ELSE s.upload_id = it ->> 'upload_id' END) THEN
        r_kind := 'conflict';
        r_detail := format('failure %s already settles a slot', it ->> 'identity');
      ELSIF b_status = 'open' AND EXISTS (SELECT 1 FROM slots s WHERE s.batch_id = b_id AND s.state = 'free') THEN
        r_kind := 'conflict';
        r_detail := 'cache said no free slot but a slot is free';
      ELSE
        INSERT INTO excess_failures (batch_id, original_file_name, upload_id, reason)
             VALUES (b_id, it ->> 'original_file_name', it ->> 'upload_id', it ->> 'reason')
        ON CONFLICT DO NOTHING;
        DELETE FROM pending_inputs p
         WHERE p.batch_id = b_id AND p.kind = 'failure'
           AND CASE WHEN it ->> 'upload_id' IS NULL
                    THEN p.upload_id IS NULL AND p.original_file_name = it ->> 'original_file_name'
                    ELSE p.upload_id = it ->> 'upload_id' END;
        r_kind := 'recorded';
        r_status := b_status;
      END IF;
    ELSE
      RAISE EXCEPTION 'bc_settle_many: item % has op %, expected assign, excess, failure or excess_failure',
        i, it ->> 'op' USING ERRCODE = '22023';
    END CASE;
    RETURN NEXT;
  END LOOP;
END $fn$;
`,
  },
];

/** Arbitrary constant identifying the migration lock among advisory locks. */
const MIGRATION_LOCK = 7_300_112;

export function migrate(client: pg.ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return runMigrations(client, migrations, { lockKey: MIGRATION_LOCK, table: 'schema_migrations' });
}
