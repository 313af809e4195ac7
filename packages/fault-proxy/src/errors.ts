/**
 * The fault proxy's error tree. Every error says whether trying again could
 * help (`retriable`) and carries what a caller needs in readonly fields.
 *
 * Errors the HTTP API reports extend {@link ToxiproxyApiError}: they carry the
 * HTTP status and the message text Toxiproxy 2.x uses, so clients written for
 * Toxiproxy (which match on status codes and sometimes on the text) see the
 * same answers.
 */
import { ChaosLabError } from '@chaos-lab/errors';

/** Bad input to the library API or the command line: the shared error, which names the field and the value. */
export { InvalidArgumentError } from '@chaos-lab/errors';

export class FaultProxyError extends ChaosLabError {}

/** An error the HTTP API answers with `{"error": message, "status": status}`. */
export class ToxiproxyApiError extends FaultProxyError {
  constructor(
    readonly status: number,
    message: string,
    options: { retriable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

export class ProxyNotFoundError extends ToxiproxyApiError {
  constructor(readonly proxy: string) {
    super(404, 'proxy not found');
  }
}

export class ProxyAlreadyExistsError extends ToxiproxyApiError {
  constructor(readonly proxy: string) {
    super(409, 'proxy already exists');
  }
}

export class ToxicNotFoundError extends ToxiproxyApiError {
  constructor(
    readonly proxy: string,
    readonly toxic: string,
  ) {
    super(404, 'toxic not found');
  }
}

export class ToxicAlreadyExistsError extends ToxiproxyApiError {
  constructor(
    readonly proxy: string,
    readonly toxic: string,
  ) {
    super(409, 'toxic already exists');
  }
}

/**
 * A request body Toxiproxy would refuse with 400. `field` and `value` name
 * the offending input when there is one (`undefined` for unparsable JSON).
 * The message keeps Toxiproxy's prefixes: `bad request body: …`,
 * `missing required field: …`, `invalid toxic type`, `stream was invalid, …`.
 */
export class BadRequestError extends ToxiproxyApiError {
  constructor(
    message: string,
    readonly field?: string,
    readonly value?: unknown,
  ) {
    super(400, message);
  }
}

/**
 * A listener (a proxy's or the API's own) could not be bound. Toxiproxy
 * answers this with 500 and Go's error text (`listen tcp 127.0.0.1:80: bind:
 * address already in use`); the text here follows that shape. Retriable when
 * the address was merely taken.
 */
export class ListenError extends ToxiproxyApiError {
  constructor(
    readonly address: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(500, `listen tcp ${address}: ${describeListenFailure(code, cause)}`, {
      retriable: code === 'EADDRINUSE',
      cause,
    });
  }
}

function describeListenFailure(code: string | undefined, cause: unknown): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'bind: address already in use';
    case 'EADDRNOTAVAIL':
      return 'bind: cannot assign requested address';
    case 'EACCES':
      return 'bind: permission denied';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'lookup failed: no such host';
    default:
      return cause instanceof Error ? cause.message : String(cause);
  }
}
