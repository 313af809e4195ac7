/**
 * The ingest service's error tree: one base with `retriable` and `cause`.
 * The HTTP layer maps each class to a status: a {@link RequestError} is the
 * client's mistake (400/413/415), a {@link ConflictError} a contradiction
 * with what is already stored (409), a {@link DependencyError} an outage the
 * client should retry (503).
 */
import { ChaosLabError } from '@chaos-lab/errors';

export { ConfigError } from '@chaos-lab/errors';

export class IngestError extends ChaosLabError {}

/** Longest rendering of an offending value echoed back to a client. */
export const VALUE_ECHO_LIMIT = 200;

/** Renders a value for an error body: JSON, cut to {@link VALUE_ECHO_LIMIT} characters. */
export function echoValue(value: unknown): string | null {
  if (value === undefined) return null;
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return s.length > VALUE_ECHO_LIMIT ? `${s.slice(0, VALUE_ECHO_LIMIT)}… (${s.length} characters)` : s;
}

/** A malformed request: names the field (a dotted path, a header or `body`) and the offending value. */
export class RequestError extends IngestError {
  readonly value: string | null;
  constructor(
    readonly field: string,
    value: unknown,
    readonly problem: string,
    readonly status: 400 | 413 | 415 = 400,
  ) {
    super(`${field}: ${problem}`);
    this.value = echoValue(value);
  }
}

/** The request contradicts what is stored under the same id (a batch, an Idempotency-Key). */
export class ConflictError extends IngestError {
  constructor(
    readonly resource: 'batch' | 'content',
    /** The batch id, or the content's text_storage_id. */
    readonly id: string,
    /** The fields that differ from the stored version. */
    readonly differences: readonly string[],
  ) {
    super(`${resource} ${id} already exists with a different ${differences.join(' and ')}`);
  }
}

/** Postgres or Kafka failed; the request may be retried as it is. */
export class DependencyError extends IngestError {
  constructor(
    readonly dependency: 'postgres' | 'kafka',
    cause: unknown,
    /** False when the dependency refused for good (a broker's MESSAGE_TOO_LARGE, say). */
    retriable = true,
  ) {
    super(`${dependency}: ${cause instanceof Error ? cause.message : String(cause)}`, { retriable, cause });
  }
}
