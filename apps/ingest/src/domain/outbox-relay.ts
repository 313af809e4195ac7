/**
 * The outbox relay: publishes the events the request path queued with their
 * rows. A pass claims the oldest queued rows (instances skip each other's),
 * sends them in one batch with acks=-1, and marks them published in the same
 * transaction; a wake-up after each commit makes the latency that of one
 * pass, and the poll interval is only the fallback (another instance's rows,
 * a failed pass).
 *
 * A failure of the whole batch that the broker may get over (unreachable,
 * leader moving) ends the pass: every row stays queued, and the next pass
 * comes after a poll interval. A batch the broker refuses for good is sent
 * again row by row, so that only the rows at fault are charged a refusal; a
 * row refused three times (the store's REFUSALS_BEFORE_SET_ASIDE) is set aside with its
 * reason instead of being retried in front of every other row. An event that
 * no longer passes its contract (it was checked when stored) is refused the
 * same way: it must never reach the coordinator.
 */
import type { Logger } from 'pino';
import { InputEvent } from '@chaos-lab/contracts';
import { IngestError } from '../errors.js';
import type { EventPublisher, IngestStore, OutboxMessage, RelayOutcome } from './ports.js';

export interface RelayOptions {
  /** Rows per pass (and per send). */
  readonly batchSize: number;
  /** Fallback poll interval, and the pause after a failed pass. */
  readonly pollMs: number;
}

type Refusal = RelayOutcome['refused'][number];

export class OutboxRelay {
  private running: Promise<void> | undefined;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private pending = false;

  constructor(
    private readonly store: IngestStore,
    private readonly publisher: EventPublisher,
    private readonly opts: RelayOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Asks for a pass now (after a commit that queued rows). */
  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  /** Finishes the pass under way (its rows are published or stay queued), then stops. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.running;
  }

  /** One pass; returns how many rows it claimed. */
  async pass(): Promise<{ claimed: number; ok: boolean }> {
    let ok = true;
    const claimed = await this.store.relayOutbox(this.opts.batchSize, async (rows) => {
      const outcome = await this.publish(rows);
      ok = outcome.refused.length === 0;
      return outcome;
    });
    return { claimed, ok };
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.pending = false;
      let full = false;
      let failed = false;
      try {
        const { claimed, ok } = await this.pass();
        full = claimed === this.opts.batchSize;
        failed = !ok;
      } catch (err) {
        failed = true;
        this.log.warn({ err: (err as Error).message }, 'outbox pass failed; the rows stay queued');
      }
      if (this.stopped) break;
      // More rows than one pass takes, or a wake-up during the pass: go on at once, unless the pass failed.
      if (!failed && (full || this.pending)) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.opts.pollMs);
        this.wakeUp = () => {
          // After a failed pass, a wake-up does not cut the pause short: the broker is given its interval.
          if (failed && !this.stopped) return;
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async publish(rows: OutboxMessage[]): Promise<RelayOutcome> {
    const refused: Refusal[] = [];
    const valid: OutboxMessage[] = [];
    for (const r of rows) {
      const parsed = InputEvent.safeParse(r.event);
      if (parsed.success) valid.push({ ...r, event: parsed.data });
      else
        refused.push({
          id: r.id,
          error: `the stored event breaks its contract: ${parsed.error.message}`,
          retriable: false,
        });
    }
    try {
      await this.publisher.publishAll(valid);
      return { published: valid.map((r) => r.id), refused };
    } catch (err) {
      if (isRetriable(err)) {
        this.log.warn(
          { err: (err as Error).message, rows: valid.length },
          'publish failed (retriable); the rows stay queued',
        );
        return {
          published: [],
          refused: [...refused, ...valid.map((r) => ({ id: r.id, error: (err as Error).message, retriable: true }))],
        };
      }
      if (valid.length === 1) return { published: [], refused: [...refused, refusal(valid[0]!, err, this.log)] };
    }
    // Refused for good as a batch: find the rows at fault one by one.
    const published: string[] = [];
    for (const r of valid) {
      try {
        await this.publisher.publishAll([r]);
        published.push(r.id);
      } catch (err) {
        refused.push(
          isRetriable(err) ? { id: r.id, error: (err as Error).message, retriable: true } : refusal(r, err, this.log),
        );
      }
    }
    return { published, refused };
  }
}

function isRetriable(err: unknown): boolean {
  return !(err instanceof IngestError) || err.retriable;
}

function refusal(r: OutboxMessage, err: unknown, log: Logger): Refusal {
  const error = (err as Error).message;
  log.error(
    { outboxId: r.id, eventId: r.event.event_id, topic: r.topic, attempts: r.attempts + 1, err: error },
    'the broker refused an event (non-retriable)',
  );
  return { id: r.id, error, retriable: false };
}
