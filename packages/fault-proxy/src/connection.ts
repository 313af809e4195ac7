/**
 * One proxied TCP connection: the accepted client socket, the socket dialled
 * to the upstream, and a {@link Link} per direction.
 *
 * Ends: a FIN from one peer is passed on as a half-close once everything
 * before it went through the toxics (Toxiproxy closes both sides at the first
 * FIN; passing half-closes on keeps request/`shutdown(WR)`/response clients
 * working). A `close` from a toxic or a socket error ends both sockets after
 * flushing what was already written; `reset` sends RST to both; `destroy`
 * (proxy disabled, deleted or stopped) drops both at once.
 */
import { connect, type Socket } from 'node:net';
import { Link, type LinkCounters } from './link.js';
import type { EndKind } from './stages.js';
import type { Toxic, ToxicStream } from './toxic.js';

/** How long a closing connection waits for the peers' FIN before dropping the sockets. */
const CLOSE_GRACE_MS = 2_000;

export interface ConnectionOptions {
  readonly client: Socket;
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  /** The proxy's toxics at the moment the upstream answers (read then, not at accept). */
  readonly toxics: () => readonly Toxic[];
  readonly random: () => number;
  readonly counters: Readonly<Record<ToxicStream, LinkCounters>>;
  /** Both sockets are closed. */
  readonly onClosed: (connection: Connection) => void;
}

type State = 'connecting' | 'open' | 'closing' | 'closed';

export class Connection {
  private readonly client: Socket;
  private readonly upstream: Socket;
  private links: Record<ToxicStream, Link> | undefined;
  private state: State = 'connecting';
  private graceTimer: NodeJS.Timeout | undefined;
  private openSockets = 2;

  constructor(private readonly options: ConnectionOptions) {
    this.client = options.client;
    this.client.setNoDelay(true);
    this.upstream = connect({
      host: options.upstreamHost,
      port: options.upstreamPort,
      allowHalfOpen: true,
      noDelay: true,
    });
    for (const socket of [this.client, this.upstream]) {
      // Errors (ECONNRESET, EPIPE, ECONNREFUSED) end the connection; they are
      // the network's business, not the proxy's, so nothing is thrown.
      socket.on('error', () => this.close());
      socket.once('close', () => this.socketClosed());
    }
    this.upstream.once('connect', () => this.open());
  }

  /** Applies a new toxic to this connection (no-op until the upstream answered: it then reads the current list). */
  addToxic(toxic: Toxic): void {
    this.links?.[toxic.stream].add(toxic);
  }

  replaceToxic(toxic: Toxic): void {
    this.links?.[toxic.stream].replace(toxic);
  }

  removeToxic(toxic: Toxic): void {
    this.links?.[toxic.stream].remove(toxic);
  }

  /** Drops both sockets at once (proxy disabled, deleted or stopped). */
  destroy(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.links?.upstream.dispose();
    this.links?.downstream.dispose();
    this.client.destroy();
    this.upstream.destroy();
  }

  private open(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    const { client, upstream } = this;
    const { toxics, random, counters } = this.options;
    const current = toxics();
    this.links = {
      upstream: new Link({
        direction: 'upstream',
        source: client,
        dest: upstream,
        toxics: current,
        random,
        counters: counters.upstream,
        onEnd: (kind) => this.directionEnded(upstream, kind),
        onReset: () => this.reset(),
      }),
      downstream: new Link({
        direction: 'downstream',
        source: upstream,
        dest: client,
        toxics: current,
        random,
        counters: counters.downstream,
        onEnd: (kind) => this.directionEnded(client, kind),
        onReset: () => this.reset(),
      }),
    };
    const links = this.links;
    client.on('data', (data: Buffer) => links.upstream.write(data));
    client.on('end', () => links.upstream.endInput('eof'));
    upstream.on('data', (data: Buffer) => links.downstream.write(data));
    upstream.on('end', () => links.downstream.endInput('eof'));
    // The listener accepts with pauseOnConnect: nothing was read before the links existed.
    client.resume();
  }

  private directionEnded(dest: Socket, kind: EndKind): void {
    if (kind === 'close') this.close();
    else if (this.state === 'open') dest.end();
  }

  /**
   * Ends both sockets after what was written is flushed, and keeps reading
   * (and dropping) until the peers close, so unread data does not turn the
   * FIN into an RST that could cost the peer bytes it has not read yet.
   */
  private close(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (this.state === 'connecting') {
      this.destroy();
      return;
    }
    this.state = 'closing';
    this.links?.upstream.dispose();
    this.links?.downstream.dispose();
    for (const socket of [this.client, this.upstream]) {
      socket.end();
      socket.resume();
    }
    this.graceTimer = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
    this.graceTimer.unref();
  }

  /** TCP RST to both peers (reset_peer). */
  private reset(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.links?.upstream.dispose();
    this.links?.downstream.dispose();
    for (const socket of [this.client, this.upstream]) {
      if (socket.destroyed) continue;
      // resetAndDestroy needs an open TCP handle; a socket whose handle is already gone is simply dropped.
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy();
      }
    }
  }

  private socketClosed(): void {
    this.openSockets -= 1;
    if (this.openSockets === 1) {
      // One side is gone; whatever happens to the other, it has nobody to talk to.
      if (this.state === 'connecting') this.destroy();
      return;
    }
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.state = 'closed';
    this.links?.upstream.dispose();
    this.links?.downstream.dispose();
    this.options.onClosed(this);
  }
}
