/**
 * What the host says on stderr. Every line starts with `kafka-mock-host:`: the lab (kafka-mock.ts) reads the
 * last such line of a failed start as the host's own explanation.
 */

/** One line on stderr, with the host's prefix. */
export function say(message: string): void {
  process.stderr.write(`kafka-mock-host: ${message}\n`);
}

/** Gives up: says why, then ends the process with `code`. */
export function fail(message: string, code = 2): never {
  say(message);
  process.exit(code);
}
