/**
 * Stages: one per toxic per connection direction, chained between the socket
 * that is read and the socket that is written.
 *
 *   source ─▶ stage ─▶ stage ─▶ tail (dest.write / end)
 *
 * A stage receives chunks and then one end, strictly in order, and passes
 * them on through `next` when its toxic says so. The chain is rewired while
 * data flows (Toxiproxy applies toxic changes to open connections too):
 *
 * - append: the new stage becomes the last one. Whatever earlier stages still
 *   hold reaches it later, so order holds.
 * - remove/replace: the stage is unlinked and `detach()` hands back what it
 *   holds, in order, which is pushed into the stage that takes its place
 *   before anything newer can arrive (JavaScript runs this synchronously).
 *
 * A stage that stops the stream (limit_data, timeout) ends it downstream and
 * discards what arrives after, telling the link (`discard`) so flow control
 * stays right. A reset is not part of the stream: it tears down both sockets.
 */
import type { Toxic, ToxicAttributes } from './toxic.js';

/** A piece of the byte stream and the time (ms, `performance.now()`) it was due at this point of the chain. */
export interface Chunk {
  readonly data: Buffer;
  readonly at: number;
}

/**
 * How a direction ends. `eof` is the peer's FIN, passed on as a half-close;
 * `close` closes the whole connection (a toxic ended it, or a socket failed).
 */
export type EndKind = 'eof' | 'close';

export type Item = { readonly chunk: Chunk } | { readonly end: EndKind };

export interface Sink {
  push(chunk: Chunk): void;
  end(kind: EndKind): void;
}

/** What a stage may ask of its connection. */
export interface StageContext {
  now(): number;
  /** Uniform in [0, 1); injectable so a seeded run replays the same jitter and slices. */
  random(): number;
  /** Bytes a stage dropped; the link stops counting them as buffered. */
  discard(bytes: number): void;
  /** Resets the connection: TCP RST to both peers. */
  reset(): void;
}

export abstract class Stage implements Sink {
  /** Rewired by the link when stages are added or removed. */
  next: Sink;
  /** Whether this stage has ended the stream; later input is discarded. */
  protected ended = false;

  constructor(
    protected readonly ctx: StageContext,
    next: Sink,
  ) {
    this.next = next;
  }

  abstract push(chunk: Chunk): void;
  abstract end(kind: EndKind): void;

  /** Takes the stage out of service: stops its timers and returns what it holds, in order. */
  detach(): Item[] {
    return [];
  }

  /** The toxic was deleted (not replaced). Called after `detach()`, with `next` still set. */
  removed(): void {}

  /** The connection is gone: stop everything. */
  dispose(): void {
    this.detach();
  }

  protected emit(chunk: Chunk): void {
    if (this.ended) this.ctx.discard(chunk.data.length);
    else this.next.push(chunk);
  }

  protected finish(kind: EndKind): void {
    if (this.ended) return;
    this.ended = true;
    this.next.end(kind);
  }
}

/**
 * A timer that never fires early: `setTimeout` counts from the event loop's
 * cached clock, which can lag the real one by a fraction of a millisecond, so
 * a "100 ms" latency could otherwise measure 99.x ms.
 */
export class Alarm {
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly now: () => number) {}

  set(at: number, fn: () => void): void {
    this.clear();
    const arm = (): void => {
      const wait = at - this.now();
      if (wait <= 0) {
        this.timer = undefined;
        fn();
      } else {
        this.timer = setTimeout(arm, Math.ceil(wait));
      }
    };
    this.timer = setTimeout(arm, Math.max(0, Math.ceil(at - this.now())));
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A toxic that lost its toxicity roll on this connection: passes everything on. */
export class PassThroughStage extends Stage {
  push(chunk: Chunk): void {
    this.emit(chunk);
  }
  end(kind: EndKind): void {
    this.finish(kind);
  }
}

/**
 * Base of the stages that only decide *when* each item moves on: a FIFO of
 * items with due times that never decrease, so order holds whatever the
 * delays (a chunk with a shorter jitter waits for the one before it).
 */
abstract class ScheduledStage extends Stage {
  private queue: { item: Item; due: number }[] = [];
  protected lastDue = -Infinity;
  private readonly alarm: Alarm;
  private detached = false;

  constructor(ctx: StageContext, next: Sink) {
    super(ctx, next);
    this.alarm = new Alarm(ctx.now);
  }

  protected schedule(item: Item, due: number): void {
    if (this.detached) return;
    this.lastDue = Math.max(due, this.lastDue);
    this.queue.push({ item, due: this.lastDue });
    if (this.queue.length === 1) this.pump();
  }

  private readonly pump = (): void => {
    const now = this.ctx.now();
    for (let head = this.queue[0]; head !== undefined; head = this.queue[0]) {
      if (head.due > now) {
        this.alarm.set(head.due, this.pump);
        return;
      }
      this.queue.shift();
      if ('end' in head.item) this.finish(head.item.end);
      else this.emit(head.item.chunk);
      // Emitting can tear the connection down (and detach this stage).
      if (this.detached) return;
    }
  };

  override detach(): Item[] {
    this.detached = true;
    this.alarm.clear();
    const held = this.queue.map((q) => q.item);
    this.queue = [];
    return held;
  }
}

/** latency: each chunk leaves `latency ± jitter` ms after it arrived, never before the chunk ahead of it. */
export class LatencyStage extends ScheduledStage {
  constructor(
    ctx: StageContext,
    next: Sink,
    private readonly attrs: ToxicAttributes['latency'],
  ) {
    super(ctx, next);
  }

  push(chunk: Chunk): void {
    const { latency, jitter } = this.attrs;
    // Same spread as Toxiproxy: latency + [-jitter, +jitter).
    const delay = jitter > 0 ? latency + Math.floor(this.ctx.random() * 2 * jitter) - jitter : latency;
    const due = Math.max(chunk.at + delay, this.lastDue);
    // The chunk's time moves on, so a second latency toxic adds to this one.
    this.schedule({ chunk: { data: chunk.data, at: due } }, due);
  }

  end(kind: EndKind): void {
    this.schedule({ end: kind }, this.ctx.now());
  }
}

/**
 * bandwidth: `rate` KB/s is `rate` bytes per ms. Each piece leaves when the
 * link would have finished sending it; big chunks go out in pieces of 100 ms
 * worth, as Toxiproxy does, so a slow rate still trickles. Idle time earns no
 * burst credit.
 */
export class BandwidthStage extends ScheduledStage {
  private nextFree = -Infinity;

  constructor(
    ctx: StageContext,
    next: Sink,
    private readonly attrs: ToxicAttributes['bandwidth'],
  ) {
    super(ctx, next);
  }

  push(chunk: Chunk): void {
    const rate = this.attrs.rate;
    const now = this.ctx.now();
    if (rate <= 0) {
      this.schedule({ chunk }, now);
      return;
    }
    const piece = rate * 100;
    for (let offset = 0; offset < chunk.data.length; offset += piece) {
      const data = chunk.data.subarray(offset, offset + piece);
      this.nextFree = Math.max(now, this.nextFree) + data.length / rate;
      this.schedule({ chunk: { data, at: chunk.at } }, this.nextFree);
    }
  }

  end(kind: EndKind): void {
    this.schedule({ end: kind }, this.ctx.now());
  }
}

/** slow_close: data passes at once; the end waits `delay` ms. */
export class SlowCloseStage extends ScheduledStage {
  constructor(
    ctx: StageContext,
    next: Sink,
    private readonly attrs: ToxicAttributes['slow_close'],
  ) {
    super(ctx, next);
  }

  push(chunk: Chunk): void {
    this.schedule({ chunk }, this.ctx.now());
  }

  end(kind: EndKind): void {
    this.schedule({ end: kind }, this.ctx.now() + this.attrs.delay);
  }
}

/**
 * slicer: cuts every chunk into slices of about `average_size` ±
 * `size_variation` bytes and sends them `delay` µs apart (timers have 1 ms
 * granularity, so a positive delay under 1000 µs becomes about 1 ms).
 */
export class SlicerStage extends ScheduledStage {
  private nextFree = -Infinity;

  constructor(
    ctx: StageContext,
    next: Sink,
    private readonly attrs: ToxicAttributes['slicer'],
  ) {
    super(ctx, next);
  }

  push(chunk: Chunk): void {
    const { average_size, size_variation, delay } = this.attrs;
    const gap = delay / 1000;
    let due = Math.max(this.ctx.now(), this.nextFree);
    for (const [start, end] of sliceBounds(chunk.data.length, average_size, size_variation, this.ctx.random)) {
      this.schedule({ chunk: { data: chunk.data.subarray(start, end), at: chunk.at } }, due);
      due += gap;
    }
    this.nextFree = due;
  }

  end(kind: EndKind): void {
    this.schedule({ end: kind }, this.ctx.now());
  }
}

/**
 * Slice boundaries for `length` bytes: halve around the middle (moved by up to
 * ± `variation`) until a piece is within `variation` of `average`, which
 * gives evenly varying slices with no bias to the start or the end. The cut
 * is kept inside the piece, so any variation terminates.
 */
export function sliceBounds(
  length: number,
  average: number,
  variation: number,
  random: () => number,
): [number, number][] {
  const out: [number, number][] = [];
  const split = (start: number, end: number): void => {
    if (end - start - average <= variation || end - start < 2) {
      out.push([start, end]);
      return;
    }
    let mid = start + Math.floor((end - start) / 2);
    if (variation > 0) mid += Math.floor(random() * 2 * variation) - variation;
    mid = Math.min(end - 1, Math.max(start + 1, mid));
    split(start, mid);
    split(mid, end);
  };
  if (length > 0) split(0, length);
  return out;
}

/**
 * timeout: drops everything; after `timeout` ms (0 = never) closes the
 * connection. Deleting the toxic closes the connections it was stalling, as
 * Toxiproxy does: the data it dropped cannot be given back.
 */
export class TimeoutStage extends Stage {
  private readonly alarm: Alarm;

  constructor(ctx: StageContext, next: Sink, attrs: ToxicAttributes['timeout']) {
    super(ctx, next);
    this.alarm = new Alarm(ctx.now);
    if (attrs.timeout > 0) this.alarm.set(ctx.now() + attrs.timeout, () => this.finish('close'));
  }

  push(chunk: Chunk): void {
    this.ctx.discard(chunk.data.length);
  }

  end(kind: EndKind): void {
    this.alarm.clear();
    this.finish(kind);
  }

  override detach(): Item[] {
    this.alarm.clear();
    return [];
  }

  override removed(): void {
    this.finish('close');
  }
}

/**
 * reset_peer: the first data (or end) starts a `timeout` ms wait (0 = none),
 * then both peers get a TCP RST. Data meanwhile is dropped. Once started the
 * reset happens even if the toxic is deleted — then at once — because the
 * dropped data has left a hole in the stream (Toxiproxy cannot interrupt its
 * wait either).
 */
export class ResetPeerStage extends Stage {
  private timer: NodeJS.Timeout | undefined;
  private triggered = false;

  constructor(
    ctx: StageContext,
    next: Sink,
    private readonly attrs: ToxicAttributes['reset_peer'],
  ) {
    super(ctx, next);
  }

  push(chunk: Chunk): void {
    this.ctx.discard(chunk.data.length);
    this.trigger();
  }

  end(): void {
    this.trigger();
  }

  private trigger(): void {
    if (this.triggered) return;
    this.triggered = true;
    if (this.attrs.timeout === 0) this.ctx.reset();
    else this.timer = setTimeout(() => this.ctx.reset(), this.attrs.timeout);
  }

  override detach(): Item[] {
    if (this.triggered && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.ctx.reset();
    }
    return [];
  }

  override dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * limit_data: passes `bytes` bytes, then closes the connection. The count
 * survives an update (a new limit counts what already passed), as in
 * Toxiproxy's per-connection state.
 */
export class LimitDataStage extends Stage {
  transmitted = 0;

  constructor(
    ctx: StageContext,
    next: Sink,
    private readonly attrs: ToxicAttributes['limit_data'],
  ) {
    super(ctx, next);
  }

  push(chunk: Chunk): void {
    if (this.ended) {
      this.ctx.discard(chunk.data.length);
      return;
    }
    const remaining = Math.max(0, this.attrs.bytes - this.transmitted);
    let data = chunk.data;
    if (data.length > remaining) {
      this.ctx.discard(data.length - remaining);
      data = data.subarray(0, remaining);
    }
    if (data.length > 0) {
      this.transmitted += data.length;
      this.emit({ data, at: chunk.at });
    }
    if (this.transmitted >= this.attrs.bytes) this.finish('close');
  }

  end(kind: EndKind): void {
    this.finish(kind);
  }
}

/**
 * The stage for a toxic on one connection direction. `active` is the
 * toxicity roll; `previous` is the stage this one replaces, whose
 * per-connection state (limit_data's count) carries over.
 */
export function createStage(toxic: Toxic, active: boolean, ctx: StageContext, next: Sink, previous?: Stage): Stage {
  if (!active) return new PassThroughStage(ctx, next);
  switch (toxic.type) {
    case 'latency':
      return new LatencyStage(ctx, next, toxic.attributes);
    case 'bandwidth':
      return new BandwidthStage(ctx, next, toxic.attributes);
    case 'slow_close':
      return new SlowCloseStage(ctx, next, toxic.attributes);
    case 'timeout':
      return new TimeoutStage(ctx, next, toxic.attributes);
    case 'reset_peer':
      return new ResetPeerStage(ctx, next, toxic.attributes);
    case 'slicer':
      return new SlicerStage(ctx, next, toxic.attributes);
    case 'limit_data': {
      const stage = new LimitDataStage(ctx, next, toxic.attributes);
      if (previous instanceof LimitDataStage) stage.transmitted = previous.transmitted;
      return stage;
    }
  }
}
