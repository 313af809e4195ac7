/**
 * The coordinator's error tree: one base with `retriable` and `cause`.
 * Retriable errors (a dependency unreachable, a timeout) make the consumer
 * retry the same message; non-retriable ones on a valid message are a bug or
 * corrupt state and eventually dead-letter the message so the partition keeps
 * flowing.
 */
import { ChaosLabError } from '@chaos-lab/errors';

export { ConfigError, isRetriable } from '@chaos-lab/errors';

export class CoordinatorError extends ChaosLabError {}

/** A dependency (redis, postgres, kafka) failed in a way worth retrying. */
export class DependencyError extends CoordinatorError {
  constructor(
    readonly dependency: 'redis' | 'postgres' | 'kafka',
    cause: unknown,
  ) {
    super(`${dependency}: ${cause instanceof Error ? cause.message : String(cause)}`, { retriable: true, cause });
  }
}

/**
 * Redis disagreed with Postgres about a batch more times in a row than the
 * coordinator is willing to rebuild it. Postgres stays correct; the message is
 * retried later.
 */
export class StateConflictError extends CoordinatorError {
  constructor(
    readonly batchId: string,
    readonly detail: string,
  ) {
    super(`batch ${batchId}: Redis and Postgres keep disagreeing: ${detail}`, { retriable: true });
  }
}

/** A sweep pass in which some batches failed; every other batch of the pass was still done. */
export class SweepError extends CoordinatorError {
  constructor(readonly failures: readonly { batchId: string; step: string; err: unknown }[]) {
    const first = failures[0]!;
    const why = first.err instanceof Error ? first.err.message : String(first.err);
    super(
      `sweep: ${failures.length} batch step(s) failed (${failures.map((f) => `${f.step} ${f.batchId}`).join(', ')}); first: ${why}`,
      { retriable: true, cause: first.err },
    );
  }
}
