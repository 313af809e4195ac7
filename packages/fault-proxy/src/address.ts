/**
 * `host:port` addresses as Toxiproxy's `listen` and `upstream` fields carry
 * them: `127.0.0.1:6379`, `localhost:0`, `[::1]:5432`, `:8666` (no host). The
 * text is checked where it enters, so a typo is a 400 naming the field, not a
 * connection that fails later.
 */
import { BadRequestError } from './errors.js';

export interface HostPort {
  /** Empty when the text had no host (`:8666`). */
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `host:port`. `listen` may have an empty host and port 0 (the kernel
 * chooses); an empty `listen` means `:0`, as in Go's `net.Listen`. An
 * `upstream` needs a port from 1 to 65535.
 */
export function parseAddress(text: string, field: 'listen' | 'upstream'): HostPort {
  if (field === 'listen' && text === '') return { host: '', port: 0 };
  const colon = text.lastIndexOf(':');
  if (colon < 0) throw bad(field, text, 'missing port in address');
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) throw bad(field, text, 'too many colons in address');
  if (/[\s/[\]]/.test(host)) throw bad(field, text, 'invalid host');
  if (!/^\d{1,5}$/.test(portText)) throw bad(field, text, 'invalid port');
  const port = Number(portText);
  if (port > 65_535 || (field === 'upstream' && port === 0)) throw bad(field, text, 'invalid port');
  return { host, port };
}

/** Formats an address the way Go's `net.TCPAddr.String()` does (brackets around IPv6). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Whether a requested `listen` is satisfied by a proxy's current one (its
 * bound address once it has listened). Port 0 means "any port", so re-sending
 * a proxy's original `localhost:0` does not move it; an empty host means
 * `defaultHost`; `localhost` matches either loopback address.
 */
export function listenMatches(requested: HostPort, current: HostPort, defaultHost: string): boolean {
  if (requested.port !== 0 && requested.port !== current.port) return false;
  const want = requested.host === '' ? defaultHost : requested.host;
  const have = current.host === '' ? defaultHost : current.host;
  return want === have || (want === 'localhost' && (have === '127.0.0.1' || have === '::1'));
}

function bad(field: string, text: string, problem: string): BadRequestError {
  return new BadRequestError(`bad request body: ${field}: address ${text}: ${problem}`, field, text);
}
