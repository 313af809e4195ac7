/**
 * The server: Toxiproxy's HTTP API plus the proxies it controls, started as
 * one AsyncDisposable object.
 *
 *   await using server = await startFaultProxy({ port: 0 });
 *   const toxiproxy = new Toxiproxy(server.url);
 */
import { createServer, type Server } from 'node:http';
import { formatAddress } from './address.js';
import { InvalidArgumentError, ListenError } from './errors.js';
import { ToxiproxyApi } from './http-api.js';
import { ProxyMetrics } from './metrics.js';
import { ProxyCollection } from './proxy-collection.js';

export interface FaultProxyOptions {
  /** Address the HTTP API listens on. Default `127.0.0.1`. */
  readonly host?: string;
  /**
   * Port of the HTTP API; 0 lets the kernel choose (read it back from
   * `port`/`url`). Default 0, so parallel tests never collide; the command
   * line defaults to Toxiproxy's 8474.
   */
  readonly port?: number;
  /**
   * Host a proxy binds when its `listen` names none (`:8666` or empty).
   * Default `127.0.0.1`; Toxiproxy binds every interface there.
   */
  readonly defaultListenHost?: string;
  /**
   * Uniform numbers in [0, 1) for toxicity rolls, latency jitter and slice
   * sizes. Default `Math.random`; pass a seeded generator to replay a run.
   */
  readonly random?: () => number;
}

export interface StartedFaultProxy extends AsyncDisposable {
  /** Base URL of the API, e.g. `http://127.0.0.1:8474`: what a Toxiproxy client takes. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops the API and every proxy, closing all their connections. Stopping twice is fine. */
  stop(): Promise<void>;
}

interface CompiledOptions {
  readonly host: string;
  readonly port: number;
  readonly defaultListenHost: string;
  readonly random: () => number;
}

/** Validates options once, where they enter, naming the field and the value. */
function compileOptions(options: FaultProxyOptions): CompiledOptions {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '')
    throw new InvalidArgumentError('host', host, 'a non-empty host name or IP');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('port', port, 'an integer from 0 to 65535');
  }
  const defaultListenHost = options.defaultListenHost ?? '127.0.0.1';
  if (typeof defaultListenHost !== 'string' || defaultListenHost === '') {
    throw new InvalidArgumentError('defaultListenHost', defaultListenHost, 'a non-empty host name or IP');
  }
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw new InvalidArgumentError('random', random, 'a function returning [0, 1)');
  return { host, port, defaultListenHost, random };
}

/** Starts the API server; resolves once it listens. Rejects with {@link ListenError} when it cannot bind. */
export async function startFaultProxy(options: FaultProxyOptions = {}): Promise<StartedFaultProxy> {
  const compiled = compileOptions(options);
  // The metrics read the proxies at scrape time; the collection needs the metrics to count into.
  const proxies: { collection?: ProxyCollection } = {};
  const metrics = new ProxyMetrics(() => proxies.collection?.list() ?? []);
  const collection = new ProxyCollection({
    defaultListenHost: compiled.defaultListenHost,
    random: compiled.random,
    metrics,
  });
  proxies.collection = collection;
  const api = new ToxiproxyApi(collection, metrics);
  const http = createServer((req, res) => void api.handle(req, res));
  // A client's idle keep-alive socket must not hold up stop().
  http.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ListenError(formatAddress(compiled.host, compiled.port), err.code, err)),
    );
    http.listen({ host: compiled.host, port: compiled.port }, () => resolve());
  });
  http.on('error', () => {});
  return new RunningFaultProxy(http, collection);
}

class RunningFaultProxy implements StartedFaultProxy {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly http: Server,
    private readonly proxies: ProxyCollection,
  ) {
    const address = http.address();
    if (address === null || typeof address !== 'object') throw new Error('HTTP server has no TCP address');
    this.host = address.address;
    this.port = address.port;
    this.url = `http://${formatAddress(address.address, address.port)}`;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
      this.http.closeAllConnections();
      await this.proxies.clear();
      await closed;
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
