/**
 * A front for each broker of librdkafka's mock cluster, so that a Fetch is
 * answered as a Kafka broker answers it.
 *
 * The mock serves at most one stored record batch per partition per Fetch
 * (its handler says "FIXME: Multiple messageSets ?"), where a broker serves
 * every batch from the fetch offset up to the request's byte limits. A
 * consumer that fell behind a producer of small batches therefore cannot
 * catch up by taking more per fetch: under paced input at 1,500 contents/s,
 * 71 % of the batches one coordinator fetched held one message, and it never
 * drained its backlog. The lab's performance figures and the coordinator's
 * batch path both depend on what a fetch returns, so the lab serves what a
 * broker would.
 *
 * Each front listens on its own loopback port and relays every request to
 * its broker unchanged, and every response back unchanged but for three:
 * - `Metadata` and `FindCoordinator`: the brokers' ports become the fronts'
 *   (a client then talks only to fronts);
 * - `Fetch` (v11, the version kafkajs speaks): for each partition that got
 *   data and whose end is further, the front fetches on from the next offset
 *   over its own connection to the broker, with no wait, until the partition
 *   is at its end or the request's byte limits are reached, and appends what
 *   it got. A partition the mock answered with an error, or no data, is
 *   returned as it was.
 *
 * The front fetches on only while the broker is in a plain state: up, no
 * added round-trip time (each extra fetch would add one), and no injected
 * Fetch errors waiting (an extra fetch must not consume an error meant for
 * the client). The host decides that (`mayFetchOn`). A broker set down has its
 * front closed too, so a client's connection is refused as the broker's is.
 */
import { createServer, Socket, type Server } from 'node:net';
import { FetchOn } from './fetch-front/fetch-on.js';
import {
  API_FETCH,
  API_FIND_COORDINATOR,
  API_METADATA,
  FETCH_VERSION,
  type FetchRequest,
  MAX_FIND_COORDINATOR_VERSION,
  MAX_METADATA_VERSION,
  readFetchRequest,
  readHeader,
  rewriteFindCoordinator,
  rewriteMetadata,
} from './fetch-front/messages.js';
import { Framer, sized } from './fetch-front/wire.js';

export { MAX_FIND_COORDINATOR_VERSION, MAX_METADATA_VERSION, nextOffset } from './fetch-front/messages.js';

export interface FrontOptions {
  /** Broker id → the mock broker's port on 127.0.0.1. */
  readonly brokers: ReadonlyMap<number, number>;
  /** Whether the front may send extra fetches to this broker now. */
  readonly mayFetchOn: (brokerId: number) => boolean;
}

/** The fronts of a mock cluster: one listener per broker. */
export class FetchFronts {
  /** Broker id → the front's port. */
  readonly ports = new Map<number, number>();
  private readonly servers = new Map<number, Server>();
  private readonly sockets = new Map<number, Set<Socket>>();
  /** Mock port → front port. */
  private readonly portOf = new Map<number, number>();
  private readonly fetchOn: FetchOn;
  /** Extra fetches sent and partitions extended, for the host's metrics. */
  readonly stats: FetchOn['stats'];

  private constructor(private readonly opts: FrontOptions) {
    this.fetchOn = new FetchOn(opts);
    this.stats = this.fetchOn.stats;
  }

  static async start(opts: FrontOptions): Promise<FetchFronts> {
    const fronts = new FetchFronts(opts);
    try {
      for (const id of opts.brokers.keys()) await fronts.listen(id, 0);
    } catch (err) {
      fronts.close();
      throw err;
    }
    return fronts;
  }

  /** `host:port` of every front, in broker order: what clients bootstrap from. */
  get bootstrapServers(): string {
    return [...this.ports.values()].map((p) => `127.0.0.1:${p}`).join(',');
  }

  private listen(id: number, port: number): Promise<void> {
    const server = createServer((client) => this.accept(id, client));
    this.servers.set(id, server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const addr = server.address();
        if (addr === null || typeof addr !== 'object') return reject(new Error(`front of broker ${id}: no address`));
        this.ports.set(id, addr.port);
        this.portOf.set(this.opts.brokers.get(id)!, addr.port);
        resolve();
      });
    });
  }

  /** Closes the broker's front and its connections (the broker is down), or opens it again on its port. */
  async setDown(id: number, down: boolean): Promise<void> {
    if (down) {
      this.servers.get(id)?.close();
      this.servers.delete(id);
      for (const s of this.sockets.get(id) ?? []) s.destroy();
      this.fetchOn.drop(id);
    } else if (!this.servers.has(id)) await this.listen(id, this.ports.get(id)!);
  }

  private accept(id: number, client: Socket): void {
    const upstream = new Socket();
    const open = this.sockets.get(id) ?? new Set<Socket>();
    this.sockets.set(id, open);
    open.add(client);
    open.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // Paired by correlation id rather than by order: Kafka sends no response to a Produce with acks=0 (librdkafka's
    // mock does), and the pairing must not depend on which of the two is behind the front.
    const inFlight = new Map<number, { apiKey: number; version: number; fetch?: FetchRequest }>();
    // Responses go back in request order; a Fetch being extended holds those behind it.
    let out: Promise<void> = Promise.resolve();
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    const fromClient = new Framer();
    const fromBroker = new Framer();
    client.on('data', (chunk) =>
      fromClient.push(chunk, (frame) => {
        const { apiKey, version, correlationId, r } = readHeader(frame);
        let fetch: FetchRequest | undefined;
        if (apiKey === API_FETCH && version === FETCH_VERSION) {
          try {
            fetch = readFetchRequest(r);
          } catch {
            fetch = undefined; // relayed as it is
          }
        }
        inFlight.set(correlationId, { apiKey, version, ...(fetch && { fetch }) });
        upstream.write(sized(frame));
      }),
    );
    upstream.on('data', (chunk) =>
      fromBroker.push(chunk, (frame) => {
        const copy = Buffer.from(frame);
        const correlationId = copy.readInt32BE(0);
        const req = inFlight.get(correlationId);
        inFlight.delete(correlationId);
        out = out.then(async () => {
          const reply = req ? await this.respond(id, req, copy) : copy;
          if (client.destroyed) return;
          client.write(sized(reply));
        });
      }),
    );
    client.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('error', closeBoth);
    upstream.on('close', closeBoth);
    upstream.connect(this.opts.brokers.get(id)!, '127.0.0.1');
  }

  private async respond(
    id: number,
    req: { apiKey: number; version: number; fetch?: FetchRequest },
    frame: Buffer,
  ): Promise<Buffer> {
    const port = (p: number) => this.portOf.get(p) ?? p;
    try {
      if (req.apiKey === API_METADATA && req.version <= MAX_METADATA_VERSION) rewriteMetadata(frame, req.version, port);
      else if (req.apiKey === API_FIND_COORDINATOR && req.version <= MAX_FIND_COORDINATOR_VERSION)
        rewriteFindCoordinator(frame, req.version, port);
      else if (req.fetch) return await this.fetchOn.extend(id, req.fetch, frame);
    } catch {
      // A response the front cannot read is relayed as it is: the client judges it.
    }
    return frame;
  }

  close(): void {
    for (const s of this.servers.values()) s.close();
    for (const set of this.sockets.values()) for (const s of set) s.destroy();
    this.fetchOn.close();
    this.servers.clear();
  }
}
