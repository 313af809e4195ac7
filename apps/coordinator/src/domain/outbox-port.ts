/**
 * The outbox as the relay sees it. Writes queue their events in the outbox
 * table in their own transaction (`adapters/postgres/outbox.ts`); the relay
 * (`adapters/kafka/outbox-relay.ts`) only claims rows, sends them, and says
 * what became of each, through this port. Its methods are named as the
 * ingest service's store names its own (`relayOutbox`, `outboxBacklog`).
 */

/** A queued event, as claimed. */
export interface OutboxRow {
  id: string;
  event_id: string;
  topic: string;
  message_key: string | null;
  payload: string;
  /** Sends of this row that failed non-retriably so far. */
  publish_attempts: number;
}

/** What a relay pass did with the rows it claimed; a row in none of the lists stays as it was. */
export interface RelayOutcome {
  /** Ids of the rows the broker acknowledged. */
  readonly published: readonly string[];
  /** Rows a send failed for, non-retriably: the attempt is counted and the row is claimed again later. */
  readonly failed: readonly { readonly id: string; readonly error: string }[];
  /**
   * Rows that will not be published: out of every later claim, with the reason. `attempted`: the last
   * send of it failed (and counts as an attempt), as opposed to a row refused without being sent.
   */
  readonly setAside: readonly { readonly id: string; readonly reason: string; readonly attempted: boolean }[];
}

/** The relay's backlog, for its gauges. */
export interface OutboxBacklog {
  /** Unpublished rows not set aside. */
  readonly rows: number;
  /** Age of the oldest of them, in seconds (0 when none). */
  readonly oldestAgeSeconds: number;
  /** Rows set aside. */
  readonly setAside: number;
}

export interface Outbox {
  /**
   * Claims up to `limit` unpublished rows that are not set aside, oldest first (skipping rows another instance
   * holds), hands them to `publish`, and records its {@link RelayOutcome} in the same transaction: published
   * rows are marked so, refused ones get an attempt counted or are set aside for good. A crash before the
   * commit republishes them (same event ids: at-least-once with recognisable duplicates), never loses them.
   * Returns how many rows were claimed.
   */
  relayOutbox(limit: number, publish: (rows: OutboxRow[]) => Promise<RelayOutcome>): Promise<number>;
  /** The backlog: unpublished rows, the age of the oldest, and the rows set aside. */
  outboxBacklog(): Promise<OutboxBacklog>;
}
