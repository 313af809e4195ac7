/**
 * Errors of the docker provider, in a module of their own so that importing
 * them never loads testcontainers.
 */
import { LabError } from '../../errors.js';

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

/**
 * The containers' network does not resolve some of its own aliases, so
 * Toxiproxy cannot reach the upstreams its proxies name ("redis",
 * "postgres"), and every connection through a proxy would be closed at
 * once. Said at start, in one line, with the package that provides the
 * runtime's container DNS.
 */
export class UnresolvedAliasError extends LabError {
  constructor(
    readonly network: string,
    /** The aliases that did not resolve. */
    readonly aliases: readonly string[],
    /** The container the lookup ran in. */
    readonly askedFrom: string,
  ) {
    super(
      `docker provider: the container network ${network} does not resolve ${aliases.join(', ')} (getent hosts in the ${askedFrom} container), so Toxiproxy cannot reach its upstreams; the runtime has no container DNS: on podman with the CNI backend install golang-github-containernetworking-plugin-dnsname, with netavark aardvark-dns`,
    );
  }
}
