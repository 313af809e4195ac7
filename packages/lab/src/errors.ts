/**
 * The lab's error tree. Every error says whether trying again could help
 * (`retriable`) and carries the data a caller needs in readonly fields, so a
 * handler never has to parse a message.
 */
export class LabError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
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

/** Bad input to a lab API or CLI: names the field and the value. */
export class InvalidArgumentError extends LabError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly expectation: string,
  ) {
    super(`${field}: ${expectation} (got ${JSON.stringify(value)})`);
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
