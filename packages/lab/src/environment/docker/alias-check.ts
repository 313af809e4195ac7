/**
 * The proxies' upstreams are network aliases: without container DNS every
 * connection through Toxiproxy is closed at once, which a client reports as
 * "Connection is closed". Asked once at start instead.
 */
import { UnresolvedAliasError } from './docker-errors.js';

/** What {@link checkAliasesResolve} needs of a container: testcontainers' exec. */
interface Execs {
  exec(command: string[]): Promise<{ exitCode: number; output: string }>;
}

/**
 * Rejects with a one-line {@link UnresolvedAliasError} when `aliases` do not
 * all resolve inside `asker` (`getent hosts`, which the Debian and Alpine
 * images of Redis and PostgreSQL have). An image without a shell or
 * `getent` cannot answer (exit 126/127): nothing is claimed then.
 */
export async function checkAliasesResolve(
  asker: Execs,
  aliases: readonly string[],
  where: { network: string; askedFrom: string },
): Promise<void> {
  const script = 'for a; do getent hosts "$a" >/dev/null || echo "unresolved $a"; done';
  const r = await asker.exec(['sh', '-c', script, 'sh', ...aliases]);
  if (r.exitCode === 126 || r.exitCode === 127) return;
  const unresolved = [...r.output.matchAll(/^unresolved (\S+)$/gm)].map((m) => m[1]!);
  if (unresolved.length > 0) throw new UnresolvedAliasError(where.network, unresolved, where.askedFrom);
}
