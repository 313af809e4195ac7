/**
 * Fetching on: the extra fetches a front sends over its own connection to a
 * broker to extend a client's Fetch response with the batches the mock left
 * out, up to each partition's end or the request's byte limits.
 */
import { Socket } from 'node:net';
import {
  type FetchPartition,
  type FetchRequest,
  type FetchResponse,
  fetchFrame,
  nextOffset,
  readFetchResponse,
  writeFetchResponse,
} from './messages.js';
import { Framer } from './wire.js';

/** Extra fetches for one client Fetch, at most. */
const MAX_ROUNDS = 64;

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

/** The fronts' extra fetches: one side connection per broker, opened when first needed. */
export class FetchOn {
  private readonly sides = new Map<number, SideConnection>();
  private correlation = 0;
  /** Extra fetches sent and partitions extended, for the host's metrics. */
  readonly stats = { fetches: 0, extended: 0 };

  constructor(
    private readonly opts: {
      /** Broker id → the mock broker's port on 127.0.0.1. */
      readonly brokers: ReadonlyMap<number, number>;
      /** Whether extra fetches may go to this broker now. */
      readonly mayFetchOn: (brokerId: number) => boolean;
    },
  ) {}

  /** The client's Fetch response with, per partition, every further batch up to its end or the byte limits. */
  async extend(id: number, req: FetchRequest, frame: Buffer): Promise<Buffer> {
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

  /** Closes the side connection to a broker (it is down); the next extra fetch opens another. */
  drop(id: number): void {
    this.sides.get(id)?.close();
    this.sides.delete(id);
  }

  close(): void {
    for (const side of this.sides.values()) side.close();
    this.sides.clear();
  }
}
