/**
 * The `outbox` table. Writes queue their events with {@link enqueue} in the
 * transaction of the change they describe, with ids derived from their
 * subject (`ON CONFLICT (event_id) DO NOTHING`: a retried step queues nothing
 * twice). {@link PgOutbox} is the relay's side of it, the {@link Outbox} port.
 */
import type pg from 'pg';
import { storableText } from '@chaos-lab/service-kit';
import type { EventType } from '@chaos-lab/contracts';
import type { Outbox, OutboxBacklog, OutboxRow, RelayOutcome } from '../../domain/outbox-port.js';
import type { Database } from './database.js';
import { transaction } from './transaction.js';

/** An event's envelope, as published. */
export function envelope(type: EventType, eventId: string, correlationId: string, data: unknown) {
  return {
    event_id: eventId,
    event_type: type,
    correlation_id: correlationId,
    occurred_at: new Date().toISOString(),
    data,
  };
}

/** Queues an event, in the caller's transaction (or, given the pool, on its own). */
export async function enqueue(
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
    [eventId, topic, key, JSON.stringify(envelope(type, eventId, correlationId, data))],
  );
}

export class PgOutbox implements Outbox {
  constructor(private readonly db: Database) {}

  relayOutbox(limit: number, publish: (rows: OutboxRow[]) => Promise<RelayOutcome>): Promise<number> {
    return transaction(this.db, 'relay_outbox', async (tx) => {
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
      return r.rows.length;
    });
  }

  outboxBacklog(): Promise<OutboxBacklog> {
    return this.db.run('outbox_pending', async () => {
      // Set-aside rows are unpublished too: one scan of outbox_unpublished counts both.
      const r = await this.db.pool.query<{ n: string; age: number | null; aside: string }>(
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
