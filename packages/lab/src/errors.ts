/**
 * The lab's errors: a branch of the project's one tree (`@chaos-lab/errors`).
 * Every error says whether trying again could help (`retriable`) and carries
 * the data a caller needs in readonly fields, so a handler never has to parse
 * a message. Bad arguments are the shared {@link InvalidArgumentError}.
 */
import { ChaosLabError } from '@chaos-lab/errors';

export { ConfigError, InvalidArgumentError } from '@chaos-lab/errors';

export class LabError extends ChaosLabError {}

/** What a record or a JSON report keeps of an error: its class name (`ProviderStartError`, …) and message. */
export interface ErrorFields {
  readonly name: string;
  readonly message: string;
}

/** {@link ErrorFields} of anything thrown. */
export function errorFields(err: unknown): ErrorFields {
  return err instanceof Error
    ? { name: err.name || 'Error', message: err.message }
    : { name: typeof err, message: String(err) };
}

/** A component of an environment (Redis, Postgres, the Kafka host, an instance) did not start. */
export class ProviderStartError extends LabError {
  constructor(
    readonly component: string,
    detail: string,
    options: { retriable?: boolean; cause?: unknown; readonly logFile?: string } = {},
  ) {
    super(`${component} did not start: ${detail}${options.logFile ? ` (log: ${options.logFile})` : ''}`, options);
    this.logFile = options.logFile;
  }
  readonly logFile: string | undefined;
}

/** A required program is not installed. */
export class MissingDependencyError extends LabError {
  constructor(
    readonly program: string,
    readonly hint: string,
  ) {
    super(`${program} was not found on this machine; ${hint}`);
  }
}

/**
 * A session could not bring its consumer group to a settled state before a
 * seed: the seed cannot start, and nothing was asked of the coordinator yet.
 * The suite voids that run and opens a fresh session (a group the mock broker
 * left with a member on a stale assignment, seen once in 80 fuzz seeds).
 */
export class SessionNotReadyError extends LabError {
  constructor(message: string, cause: unknown) {
    super(message, { retriable: true, cause });
  }
}

/** Waiting for something took longer than allowed; the outcome is unknown. */
export class LabTimeoutError extends LabError {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} did not happen within ${timeoutMs} ms`, { retriable: true });
  }
}

/**
 * A suite plans faults its provider cannot run (the docker provider's one
 * real broker has no control API for leader moves or injected errors).
 * Refused before anything starts; the message names each kind once, with
 * its first planned instance and the reason, and the way out.
 */
export class UnsupportedFaultsError extends LabError {
  constructor(
    readonly scenario: string,
    readonly provider: string,
    readonly faults: readonly {
      readonly seed: number;
      readonly kind: string;
      readonly label: string;
      readonly why: string;
    }[],
  ) {
    const firstByKind = [...new Map(faults.map((f) => [f.kind, f] as const).reverse()).values()].reverse();
    const kinds = firstByKind.map((f) => `${f.kind} ("${f.label}", seed ${f.seed}: ${f.why})`);
    super(`${scenario} cannot run on the ${provider} provider: ${kinds.join('; ')}; run it with LAB_PROVIDER=local`);
  }
}
