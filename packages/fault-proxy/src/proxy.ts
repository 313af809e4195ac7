/**
 * A proxy: a listener that accepts clients, dials `upstream` for each, and
 * applies its toxics to every connection. Field semantics follow Toxiproxy:
 * `listen` reports the bound address once listening (so port 0 shows the
 * port the kernel chose), disabling closes the listener and every open
 * connection, and changing `listen` or `upstream` restarts the proxy.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { formatAddress, listenMatches, parseAddress, type HostPort } from './address.js';
import { Connection } from './connection.js';
import { ListenError, ToxicNotFoundError } from './errors.js';
import type { LinkCounters } from './link.js';
import type { ProxyMetrics } from './metrics.js';
import {
  parseToxicCreate,
  parseToxicUpdate,
  toxicToJson,
  type Toxic,
  type ToxicJson,
  type ToxicStream,
} from './toxic.js';

/** The JSON Toxiproxy returns for a proxy, with its key order. */
export interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicJson[];
}

export interface ProxySettings {
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
}

export interface ProxyEnvironment {
  /** Host to bind when `listen` has none (`:8666`). */
  readonly defaultListenHost: string;
  readonly random: () => number;
  readonly metrics: ProxyMetrics;
}

export class Proxy {
  readonly name: string;
  private listenText: string;
  private upstreamText: string;
  private upstreamAddress: HostPort;
  private server: Server | undefined;
  private readonly toxicList: Toxic[] = [];
  private readonly connections = new Set<Connection>();

  /** `listen` and `upstream` must already have been checked with {@link parseAddress}. */
  constructor(
    name: string,
    settings: Pick<ProxySettings, 'listen' | 'upstream'>,
    private readonly env: ProxyEnvironment,
  ) {
    this.name = name;
    this.listenText = settings.listen;
    this.upstreamText = settings.upstream;
    this.upstreamAddress = parseAddress(settings.upstream, 'upstream');
  }

  get enabled(): boolean {
    return this.server !== undefined;
  }

  get listen(): string {
    return this.listenText;
  }

  get upstream(): string {
    return this.upstreamText;
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  get toxics(): readonly Toxic[] {
    return this.toxicList;
  }

  /** Starts listening; resolves once bound. A proxy already listening stays as it is. */
  async start(): Promise<void> {
    if (this.server) return;
    const requested = parseAddress(this.listenText, 'listen');
    const host = requested.host === '' ? this.env.defaultListenHost : requested.host;
    // pauseOnConnect: a client's bytes wait in the kernel until the upstream
    // answered and the toxics are in place.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ListenError(formatAddress(host, requested.port), err.code, err)),
      );
      server.listen({ host, port: requested.port }, () => resolve());
    });
    // Accept errors after a successful bind (EMFILE) must not crash the process; the client simply is not served.
    server.on('error', () => {});
    const address = server.address();
    if (address !== null && typeof address === 'object') this.listenText = formatAddress(address.address, address.port);
    this.server = server;
  }

  /** Closes the listener and drops every open connection. Stopping a stopped proxy is fine. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of this.connections) connection.destroy();
    await closed;
  }

  /**
   * Applies `POST /proxies/{name}` the way Toxiproxy does: a different
   * upstream, or a listen address the current one does not satisfy, restarts
   * the proxy (dropping connections); then `enabled` is applied.
   */
  async update(input: ProxySettings): Promise<void> {
    if (this.differs(input)) {
      await this.stop();
      this.listenText = input.listen;
      this.upstreamText = input.upstream;
      this.upstreamAddress = parseAddress(input.upstream, 'upstream');
    }
    if (input.enabled) await this.start();
    else await this.stop();
  }

  /** Whether `input` asks for a different upstream, or a listen address the current one does not satisfy. */
  differs(input: Pick<ProxySettings, 'listen' | 'upstream'>): boolean {
    if (input.upstream !== this.upstreamText) return true;
    const requested = parseAddress(input.listen, 'listen');
    return !listenMatches(requested, parseAddress(this.listenText, 'listen'), this.env.defaultListenHost);
  }

  findToxic(name: string): Toxic | undefined {
    return this.toxicList.find((t) => t.name === name);
  }

  addToxic(body: unknown): Toxic {
    const toxic = parseToxicCreate(this.name, body, (name) => this.findToxic(name) !== undefined);
    this.toxicList.push(toxic);
    for (const connection of this.connections) connection.addToxic(toxic);
    return toxic;
  }

  updateToxic(name: string, body: unknown): Toxic {
    const index = this.toxicList.findIndex((t) => t.name === name);
    const current = this.toxicList[index];
    if (!current) throw new ToxicNotFoundError(this.name, name);
    const toxic = parseToxicUpdate(current, body);
    this.toxicList[index] = toxic;
    for (const connection of this.connections) connection.replaceToxic(toxic);
    return toxic;
  }

  removeToxic(name: string): void {
    const index = this.toxicList.findIndex((t) => t.name === name);
    const toxic = this.toxicList[index];
    if (!toxic) throw new ToxicNotFoundError(this.name, name);
    this.toxicList.splice(index, 1);
    for (const connection of this.connections) connection.removeToxic(toxic);
  }

  removeAllToxics(): void {
    for (const toxic of [...this.toxicList]) this.removeToxic(toxic.name);
  }

  /** Toxics in Toxiproxy's order: the upstream chain, then the downstream chain, each in creation order. */
  toxicsJson(): ToxicJson[] {
    const ordered = [
      ...this.toxicList.filter((t) => t.stream === 'upstream'),
      ...this.toxicList.filter((t) => t.stream === 'downstream'),
    ];
    return ordered.map(toxicToJson);
  }

  toJSON(): ProxyJson {
    return {
      name: this.name,
      listen: this.listenText,
      upstream: this.upstreamText,
      enabled: this.enabled,
      toxics: this.toxicsJson(),
    };
  }

  private accept(client: Socket): void {
    const { metrics } = this.env;
    const labels = { proxy: this.name, listener: this.listenText, upstream: this.upstreamText };
    const counters = (direction: ToxicStream): LinkCounters => {
      const received = metrics.receivedBytes.labels({ direction, ...labels });
      const sent = metrics.sentBytes.labels({ direction, ...labels });
      return { received: (n) => received.inc(n), sent: (n) => sent.inc(n) };
    };
    metrics.connectionsOpened.inc({ proxy: this.name });
    const connection = new Connection({
      client,
      upstreamHost: this.upstreamAddress.host === '' ? '127.0.0.1' : this.upstreamAddress.host,
      upstreamPort: this.upstreamAddress.port,
      toxics: () => this.toxicList,
      random: this.env.random,
      counters: { upstream: counters('upstream'), downstream: counters('downstream') },
      onClosed: (c) => {
        this.connections.delete(c);
        metrics.connectionsClosed.inc({ proxy: this.name });
      },
    });
    this.connections.add(connection);
  }
}
