/**
 * Errors of the docker provider, in a module of their own so that importing
 * them never loads testcontainers.
 */
import { LabError } from '../errors.js';

/** `LAB_PROVIDER=docker` was asked for, and no container runtime answered. One line, with the way out. */
export class NoContainerRuntimeError extends LabError {
  constructor(
    /** What testcontainers reported, reduced to its first line. */
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      `LAB_PROVIDER=docker: no container runtime found (${reason}); install and start Docker, or unset LAB_PROVIDER to use the local environment`,
      options,
    );
  }
}

/**
 * A fault or control operation of the local mock broker that a real
 * container cannot reproduce. Not retriable: the same call fails again.
 */
export class UnsupportedOnDockerError extends LabError {
  constructor(
    /** The operation, e.g. `kafka.pushRequestErrors`. */
    readonly operation: string,
    readonly why: string,
  ) {
    super(`${operation} is not supported on the docker provider: ${why}; run this fault with LAB_PROVIDER=local`);
  }
}

/** The first non-empty line of an error's message, for one-line reports. */
export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== '') ?? 'unknown error'
  );
}
