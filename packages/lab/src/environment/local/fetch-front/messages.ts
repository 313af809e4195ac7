/**
 * The messages the fronts read or rewrite: Fetch v11 requests and responses,
 * the Fetch a front sends on its own, and the broker ports in Metadata and
 * FindCoordinator responses.
 */
import { Reader, Writer, sized } from './wire.js';

export const API_FETCH = 1;
export const API_METADATA = 3;
export const API_FIND_COORDINATOR = 10;
/** The one Fetch version the front extends (kafkajs 2.2.4's highest); others pass through as they are. */
export const FETCH_VERSION = 11;
/** The non-flexible versions whose responses the front can rewrite; the host caps the mock to them. */
export const MAX_METADATA_VERSION = 8;
export const MAX_FIND_COORDINATOR_VERSION = 2;

export interface FetchPartitionRequest {
  readonly partition: number;
  readonly maxBytes: number;
}

export interface FetchRequest {
  readonly maxBytes: number;
  readonly isolationLevel: number;
  readonly topics: Map<string, Map<number, FetchPartitionRequest>>;
}

export interface FetchPartition {
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  aborted: Buffer | null; // the raw array (count and entries), copied as it is
  preferredReadReplica: number;
  records: Buffer[];
}

export interface FetchResponse {
  correlationId: number;
  throttleTimeMs: number;
  errorCode: number;
  sessionId: number;
  topics: { name: string; partitions: FetchPartition[] }[];
}

/** A request frame's header: api key, version, correlation id, client id; `r` left at the body. */
export function readHeader(frame: Buffer): { apiKey: number; version: number; correlationId: number; r: Reader } {
  const r = new Reader(frame);
  const apiKey = r.i16();
  const version = r.i16();
  const correlationId = r.i32();
  r.str(); // client id
  return { apiKey, version, correlationId, r };
}

export function readFetchRequest(r: Reader): FetchRequest {
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

export function readFetchResponse(frame: Buffer): FetchResponse {
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

export function writeFetchResponse(res: FetchResponse): Buffer {
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

export function fetchFrame(
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
export function rewriteMetadata(frame: Buffer, version: number, port: (p: number) => number): void {
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
export function rewriteFindCoordinator(frame: Buffer, version: number, port: (p: number) => number): void {
  const r = new Reader(frame, 4);
  if (version >= 1) r.i32(); // throttle time
  r.i16(); // error code
  if (version >= 1) r.str(); // error message
  r.i32(); // node id
  r.str(); // host
  frame.writeInt32BE(port(frame.readInt32BE(r.off)), r.off);
}
