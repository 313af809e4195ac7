/**
 * The project's one error tree. Every package's own errors extend
 * {@link ChaosLabError}: each says whether trying again could help
 * (`retriable`), keeps what caused it (`cause`), and carries the data a
 * caller needs in readonly fields, so a handler never parses a message.
 *
 * Two errors are shared by every package because every package has them:
 * a bad environment variable ({@link ConfigError}) and a bad argument to an
 * API or a command line ({@link InvalidArgumentError}). Both name the field
 * and the value.
 */
export interface ErrorOptions {
  /** Whether the same call, tried again later, could succeed. Default false. */
  readonly retriable?: boolean;
  readonly cause?: unknown;
}

export class ChaosLabError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** An environment variable is missing or invalid: `NAME="value": problem`. */
export class ConfigError extends ChaosLabError {
  constructor(
    readonly variable: string,
    readonly value: string | undefined,
    readonly problem: string,
  ) {
    super(`${variable}=${value === undefined ? '(unset)' : JSON.stringify(value)}: ${problem}`);
  }
}

/** Bad input to an API or a command line: `field: expected <expectation> (got <value>)`. */
export class InvalidArgumentError extends ChaosLabError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expectation: string,
  ) {
    super(`${field}: expected ${expectation} (got ${showValue(value)})`);
  }
}

/** True for an error of the tree that says trying again could help; false for anything else. */
export function isRetriable(err: unknown): boolean {
  return err instanceof ChaosLabError && err.retriable;
}

/** A value as an error message shows it: JSON (NaN, Infinity and undefined as themselves), cut at `limit` characters. */
export function showValue(value: unknown, limit = 200): string {
  if (value === undefined || typeof value === 'number' || typeof value === 'bigint') return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > limit ? `${text.slice(0, limit - 3)}...` : text;
}
