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

const API_FETCH = 1;
const API_METADATA = 3;
const API_FIND_COORDINATOR = 10;
/** The one Fetch version the front extends (kafkajs 2.2.4's highest); others pass through as they are. */
const FETCH_VERSION = 11;
/** The non-flexible versions whose responses the front can rewrite; the host caps the mock to them. */
export const MAX_METADATA_VERSION = 8;
export const MAX_FIND_COORDINATOR_VERSION = 2;
/** Extra fetches for one client Fetch, at most. */
const MAX_ROUNDS = 64;

export interface FrontOptions {
  /** Broker id → the mock broker's port on 127.0.0.1. */
  readonly brokers: ReadonlyMap<number, number>;
  /** Whether the front may send extra fetches to this broker now. */
  readonly mayFetchOn: (brokerId: number) => boolean;
}

// ---------------------------------------------------------------------------
// Wire reading and writing (big-endian, non-flexible versions only)

class Reader {
  constructor(
    readonly buf: Buffer,
    public off = 0,
  ) {}
  i8 = () => this.buf.readInt8((this.off += 1) - 1);
  i16 = () => this.buf.readInt16BE((this.off += 2) - 2);
  i32 = () => this.buf.readInt32BE((this.off += 4) - 4);
  i64 = () => this.buf.readBigInt64BE((this.off += 8) - 8);
  str = (): string | null => {
    const n = this.i16();
    if (n < 0) return null;
    return this.buf.toString('utf8', this.off, (this.off += n));
  };
  bytes = (): Buffer | null => {
    const n = this.i32();
    if (n < 0) return null;
    return this.buf.subarray(this.off, (this.off += n));
  };
}

class Writer {
  private readonly parts: Buffer[] = [];
  private n(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.allocUnsafe(size);
    write(b);
    this.parts.push(b);
    return this;
  }
  i8 = (v: number) => this.n(1, (b) => b.writeInt8(v));
  i16 = (v: number) => this.n(2, (b) => b.writeInt16BE(v));
  i32 = (v: number) => this.n(4, (b) => b.writeInt32BE(v));
  i64 = (v: bigint) => this.n(8, (b) => b.writeBigInt64BE(v));
  str = (s: string | null) => {
    if (s === null) return this.i16(-1);
    const b = Buffer.from(s, 'utf8');
    this.i16(b.length);
    this.parts.push(b);
    return this;
  };
  bytes = (b: Buffer | null) => {
    if (b === null) return this.i32(-1);
    this.i32(b.length);
    this.parts.push(b);
    return this;
  };
  raw = (b: Buffer) => {
    this.parts.push(b);
    return this;
  };
  /** The frame's bytes, without its size. */
  body(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A frame as it goes on the wire: its 4-byte size, then its bytes. */
function sized(frame: Buffer): Buffer {
  const size = Buffer.allocUnsafe(4);
  size.writeInt32BE(frame.length);
  return Buffer.concat([size, frame]);
}

/** Splits a byte stream into Kafka frames (a 4-byte size, then the frame). */
class Framer {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const size = this.pending.readInt32BE(0);
      if (this.pending.length < 4 + size) break;
      onFrame(this.pending.subarray(4, 4 + size));
      this.pending = this.pending.subarray(4 + size);
    }
  }
}

// ---------------------------------------------------------------------------
// Fetch v11

interface FetchPartitionRequest {
  readonly partition: number;
  readonly maxBytes: number;
}

interface FetchRequest {
  readonly maxBytes: number;
  readonly isolationLevel: number;
  readonly topics: Map<string, Map<number, FetchPartitionRequest>>;
}

interface FetchPartition {
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  aborted: Buffer | null; // the raw array (count and entries), copied as it is
  preferredReadReplica: number;
  records: Buffer[];
}

interface FetchResponse {
  correlationId: number;
  throttleTimeMs: number;
  errorCode: number;
  sessionId: number;
  topics: { name: string; partitions: FetchPartition[] }[];
}

/** A request frame's header: api key, version, correlation id, client id; `r` left at the body. */
function readHeader(frame: Buffer): { apiKey: number; version: number; correlationId: number; r: Reader } {
  const r = new Reader(frame);
  const apiKey = r.i16();
  const version = r.i16();
  const correlationId = r.i32();
  r.str(); // client id
  return { apiKey, version, correlationId, r };
}

function readFetchRequest(r: Reader): FetchRequest {
  r.i32(); // replica id
  r.i32(); // max wait
  r.i32(); // min bytes
  const maxBytes = r.i32();
  const isolationLevel = r.i8();
  r.i32(); // session id
  r.i32(); // session epoch
  const topics = new Map<string, Map<number, FetchPartitionRequest>>();
  for (let t = r.i32(); t > 0; t--) {
    const name = r.str() ?? '';
    const parts = new Map<number, FetchPartitionRequest>();
    for (let p = r.i32(); p > 0; p--) {
      const partition = r.i32();
      r.i32(); // current leader epoch
      r.i64(); // fetch offset
      r.i64(); // log start offset
      parts.set(partition, { partition, maxBytes: r.i32() });
    }
    topics.set(name, parts);
  }
  return { maxBytes, isolationLevel, topics };
}

function readFetchResponse(frame: Buffer): FetchResponse {
  const r = new Reader(frame);
  const res: FetchResponse = {
    correlationId: r.i32(),
    throttleTimeMs: r.i32(),
    errorCode: r.i16(),
    sessionId: r.i32(),
    topics: [],
  };
  for (let t = r.i32(); t > 0; t--) {
    const name = r.str() ?? '';
    const partitions: FetchPartition[] = [];
    for (let p = r.i32(); p > 0; p--) {
      const partition = r.i32();
      const errorCode = r.i16();
      const highWatermark = r.i64();
      const lastStableOffset = r.i64();
      const logStartOffset = r.i64();
      const abortedStart = r.off;
      const n = r.i32();
      if (n > 0) r.off += n * 16;
      const aborted = n < 0 ? null : frame.subarray(abortedStart, r.off);
      const preferredReadReplica = r.i32();
      const records = r.bytes();
      partitions.push({
        partition,
        errorCode,
        highWatermark,
        lastStableOffset,
        logStartOffset,
        aborted,
        preferredReadReplica,
        records: records && records.length > 0 ? [records] : [],
      });
    }
    res.topics.push({ name, partitions });
  }
  return res;
}

function writeFetchResponse(res: FetchResponse): Buffer {
  const w = new Writer().i32(res.correlationId).i32(res.throttleTimeMs).i16(res.errorCode).i32(res.sessionId);
  w.i32(res.topics.length);
  for (const t of res.topics) {
    w.str(t.name).i32(t.partitions.length);
    for (const p of t.partitions) {
      w.i32(p.partition).i16(p.errorCode).i64(p.highWatermark).i64(p.lastStableOffset).i64(p.logStartOffset);
      if (p.aborted === null) w.i32(-1);
      else w.raw(p.aborted);
      w.i32(p.preferredReadReplica).bytes(Buffer.concat(p.records));
    }
  }
  return w.body();
}

/** The offset after the last record batch of `records`, or undefined when they are not whole v2 batches. */
export function nextOffset(records: Buffer): bigint | undefined {
  let off = 0;
  let next: bigint | undefined;
  while (off + 27 <= records.length) {
    const base = records.readBigInt64BE(off);
    const length = records.readInt32BE(off + 8);
    if (records.readInt8(off + 16) !== 2 || off + 12 + length > records.length) return undefined;
    next = base + BigInt(records.readInt32BE(off + 23)) + 1n;
    off += 12 + length;
  }
  return off === records.length ? next : undefined;
}

function fetchFrame(
  correlationId: number,
  isolationLevel: number,
  maxBytes: number,
  topics: Map<string, { partition: number; offset: bigint; maxBytes: number }[]>,
): Buffer {
  const w = new Writer().i16(API_FETCH).i16(FETCH_VERSION).i32(correlationId).str('lab-fetch-front');
  w.i32(-1).i32(0).i32(0).i32(maxBytes).i8(isolationLevel).i32(0).i32(-1);
  w.i32(topics.size);
  for (const [name, parts] of topics) {
    w.str(name).i32(parts.length);
    for (const p of parts) w.i32(p.partition).i32(-1).i64(p.offset).i64(-1n).i32(p.maxBytes);
  }
  w.i32(0).str('');
  return sized(w.body());
}

/** Rewrites, in place, the port of every broker a Metadata response (v0–v8) lists. */
function rewriteMetadata(frame: Buffer, version: number, port: (p: number) => number): void {
  const r = new Reader(frame, 4);
  if (version >= 3) r.i32(); // throttle time
  for (let n = r.i32(); n > 0; n--) {
    r.i32(); // node id
    r.str(); // host
    frame.writeInt32BE(port(frame.readInt32BE(r.off)), r.off);
    r.off += 4;
    if (version >= 1) r.str(); // rack
  }
}

/** Rewrites, in place, the coordinator's port in a FindCoordinator response (v0–v2). */
function rewriteFindCoordinator(frame: Buffer, version: number, port: (p: number) => number): void {
  const r = new Reader(frame, 4);
  if (version >= 1) r.i32(); // throttle time
  r.i16(); // error code
  if (version >= 1) r.str(); // error message
  r.i32(); // node id
  r.str(); // host
  frame.writeInt32BE(port(frame.readInt32BE(r.off)), r.off);
}

/**
 * A bound on one extra fetch. It asks with no wait, so a broker answers at once; one that does not (it went down
 * mid-request) must not hold the client's response behind it: the connection is dropped and what was gathered
 * so far is the answer.
 */
const SIDE_REQUEST_TIMEOUT_MS = 2000;

/** One connection of the front's own to a broker: requests in order, each answered by the next response. */
class SideConnection {
  private readonly socket: Socket;
  private readonly waiting: { resolve: (f: Buffer) => void; reject: (e: Error) => void }[] = [];
  private readonly framer = new Framer();
  private failed: Error | undefined;

  constructor(port: number) {
    this.socket = new Socket();
    this.socket.setNoDelay(true);
    this.socket.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk) => this.framer.push(chunk, (f) => this.waiting.shift()?.resolve(f)));
    const end = (err?: Error) => {
      this.failed = err ?? new Error('broker connection closed');
      for (const w of this.waiting.splice(0)) w.reject(this.failed);
    };
    this.socket.on('error', end);
    this.socket.on('close', () => end());
  }

  get usable(): boolean {
    return this.failed === undefined;
  }

  request(frame: Buffer): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.socket.destroy(new Error(`no answer within ${SIDE_REQUEST_TIMEOUT_MS} ms`)),
        SIDE_REQUEST_TIMEOUT_MS,
      );
      this.waiting.push({
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(frame);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The fronts of a mock cluster: one listener per broker. */
export class FetchFronts {
  /** Broker id → the front's port. */
  readonly ports = new Map<number, number>();
  private readonly servers = new Map<number, Server>();
  private readonly sockets = new Map<number, Set<Socket>>();
  private readonly sides = new Map<number, SideConnection>();
  /** Mock port → front port. */
  private readonly portOf = new Map<number, number>();
  private correlation = 0;
  /** Extra fetches sent and partitions extended, for the host's metrics. */
  readonly stats = { fetches: 0, extended: 0 };

  private constructor(private readonly opts: FrontOptions) {}

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
      this.sides.get(id)?.close();
      this.sides.delete(id);
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
      else if (req.fetch) return await this.extend(id, req.fetch, frame);
    } catch {
      // A response the front cannot read is relayed as it is: the client judges it.
    }
    return frame;
  }

  /** The client's Fetch response with, per partition, every further batch up to its end or the byte limits. */
  private async extend(id: number, req: FetchRequest, frame: Buffer): Promise<Buffer> {
    const res = readFetchResponse(frame);
    let total = 0;
    const open: { topic: string; p: FetchPartition; next: bigint; bytes: number; limit: number }[] = [];
    for (const t of res.topics)
      for (const p of t.partitions) {
        const bytes = p.records.reduce((n, b) => n + b.length, 0);
        total += bytes;
        const next = p.errorCode === 0 && bytes > 0 ? nextOffset(p.records[0]!) : undefined;
        const limit = req.topics.get(t.name)?.get(p.partition)?.maxBytes ?? 0;
        if (next !== undefined && next < p.highWatermark && bytes < limit)
          open.push({ topic: t.name, p, next, bytes, limit });
      }
    if (open.length === 0) return frame;
    let extended = false;
    for (let round = 0; round < MAX_ROUNDS && open.length > 0 && total < req.maxBytes; round++) {
      if (!this.opts.mayFetchOn(id)) break;
      let side = this.sides.get(id);
      if (!side?.usable) this.sides.set(id, (side = new SideConnection(this.opts.brokers.get(id)!)));
      const ask = new Map<string, { partition: number; offset: bigint; maxBytes: number }[]>();
      for (const o of open) {
        const list = ask.get(o.topic) ?? [];
        list.push({ partition: o.p.partition, offset: o.next, maxBytes: o.limit - o.bytes });
        ask.set(o.topic, list);
      }
      let more: FetchResponse;
      try {
        this.stats.fetches++;
        more = readFetchResponse(
          await side.request(fetchFrame(++this.correlation, req.isolationLevel, req.maxBytes - total, ask)),
        );
      } catch {
        break; // what was gathered so far is a valid answer
      }
      const got = new Map<string, FetchPartition>();
      for (const t of more.topics) for (const p of t.partitions) got.set(`${t.name}\0${p.partition}`, p);
      for (let i = open.length - 1; i >= 0; i--) {
        const o = open[i]!;
        const m = got.get(`${o.topic}\0${o.p.partition}`);
        const records = m?.records[0];
        const next = records ? nextOffset(records) : undefined;
        if (
          !m ||
          m.errorCode !== 0 ||
          !records ||
          next === undefined ||
          next <= o.next ||
          o.bytes + records.length > o.limit
        ) {
          open.splice(i, 1);
          continue;
        }
        o.p.records.push(records);
        if (m.highWatermark > o.p.highWatermark) o.p.highWatermark = m.highWatermark;
        if (m.lastStableOffset > o.p.lastStableOffset) o.p.lastStableOffset = m.lastStableOffset;
        o.bytes += records.length;
        total += records.length;
        o.next = next;
        extended = true;
        if (next >= o.p.highWatermark || o.bytes >= o.limit) open.splice(i, 1);
      }
    }
    if (!extended) return frame;
    this.stats.extended++;
    return writeFetchResponse(res);
  }

  close(): void {
    for (const s of this.servers.values()) s.close();
    for (const set of this.sockets.values()) for (const s of set) s.destroy();
    for (const side of this.sides.values()) side.close();
    this.servers.clear();
    this.sides.clear();
  }
}
