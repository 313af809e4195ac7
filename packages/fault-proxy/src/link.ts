/**
 * A link is one direction of a proxied connection: bytes read from `source`
 * go through the stages of the toxics on that stream and are written to
 * `dest` (`upstream` = client → server, `downstream` = server → client, as in
 * Toxiproxy).
 *
 * Flow control: bytes read but not yet written or dropped count as buffered;
 * past a high-water mark, or while `dest` wants a drain, the source is
 * paused, so a slow toxic pushes back on the sender through TCP instead of
 * growing memory.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  createStage,
  type Chunk,
  type EndKind,
  type Item,
  type Sink,
  type Stage,
  type StageContext,
} from './stages.js';
import type { Toxic, ToxicStream } from './toxic.js';

const HIGH_WATER_BYTES = 512 * 1024;
const LOW_WATER_BYTES = 128 * 1024;

export interface LinkCounters {
  /** Bytes read from the source. */
  received(bytes: number): void;
  /** Bytes written to the destination. */
  sent(bytes: number): void;
}

export interface LinkOptions {
  readonly direction: ToxicStream;
  readonly source: Socket;
  readonly dest: Socket;
  /** The proxy's toxics when the connection opened; only this direction's are used. */
  readonly toxics: readonly Toxic[];
  readonly random: () => number;
  readonly counters: LinkCounters;
  /** The stream ended after everything before the end was written. */
  readonly onEnd: (kind: EndKind) => void;
  /** A toxic asked for a reset. */
  readonly onReset: () => void;
}

export class Link {
  readonly direction: ToxicStream;
  private readonly stages: { name: string; stage: Stage }[] = [];
  private readonly tail: Sink;
  private readonly ctx: StageContext;
  private buffered = 0;
  private paused = false;
  private outputEnded = false;
  private disposed = false;

  constructor(private readonly options: LinkOptions) {
    this.direction = options.direction;
    const { dest, counters } = options;
    this.ctx = {
      now: () => performance.now(),
      random: options.random,
      discard: (bytes) => this.release(bytes),
      reset: () => options.onReset(),
    };
    this.tail = {
      push: (chunk: Chunk) => {
        this.release(chunk.data.length);
        if (this.outputEnded || this.disposed) return;
        dest.write(chunk.data);
        counters.sent(chunk.data.length);
        this.updateFlow();
      },
      end: (kind: EndKind) => {
        if (this.outputEnded || this.disposed) return;
        this.outputEnded = true;
        options.onEnd(kind);
      },
    };
    dest.on('drain', () => this.updateFlow());
    for (const toxic of options.toxics) this.add(toxic);
  }

  /** Data read from the source. */
  write(data: Buffer): void {
    if (this.disposed) return;
    this.buffered += data.length;
    this.options.counters.received(data.length);
    this.entry().push({ data, at: performance.now() });
    this.updateFlow();
  }

  /** The source ended (`eof`) or failed (`close`). */
  endInput(kind: EndKind): void {
    if (!this.disposed) this.entry().end(kind);
  }

  /** Appends a toxic's stage at the end of the chain, as Toxiproxy does. */
  add(toxic: Toxic): void {
    if (toxic.stream !== this.direction || this.disposed) return;
    const stage = createStage(toxic, this.roll(toxic), this.ctx, this.tail);
    const last = this.stages.at(-1);
    if (last) last.stage.next = stage;
    this.stages.push({ name: toxic.name, stage });
  }

  /** Swaps a toxic's stage for one with the new settings (and a new toxicity roll) in the same place. */
  replace(toxic: Toxic): void {
    const index = this.indexOf(toxic);
    const old = this.stages[index];
    if (!old) return;
    const stage = createStage(toxic, this.roll(toxic), this.ctx, old.stage.next, old.stage);
    this.relink(index, stage);
    this.stages[index] = { name: toxic.name, stage };
    deliver(old.stage.detach(), stage);
  }

  /** Unlinks a toxic's stage; what it held goes on, unaltered, to the stage after it. */
  remove(toxic: Toxic): void {
    const index = this.indexOf(toxic);
    const old = this.stages[index];
    if (!old) return;
    this.relink(index, old.stage.next);
    this.stages.splice(index, 1);
    deliver(old.stage.detach(), old.stage.next);
    old.stage.removed();
  }

  /** The connection is gone: stop every stage's timers and ignore anything further. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const { stage } of this.stages) stage.dispose();
  }

  private entry(): Sink {
    return this.stages[0]?.stage ?? this.tail;
  }

  private relink(index: number, target: Sink): void {
    const previous = this.stages[index - 1];
    if (previous) previous.stage.next = target;
  }

  private indexOf(toxic: Toxic): number {
    if (toxic.stream !== this.direction) return -1;
    return this.stages.findIndex((s) => s.name === toxic.name);
  }

  /** Toxiproxy's roll: the toxic applies when a uniform draw is below its toxicity. */
  private roll(toxic: Toxic): boolean {
    return this.options.random() < toxic.toxicity;
  }

  private release(bytes: number): void {
    this.buffered -= bytes;
    this.updateFlow();
  }

  private updateFlow(): void {
    if (this.disposed) return;
    const { source, dest } = this.options;
    if (!this.paused && (this.buffered > HIGH_WATER_BYTES || dest.writableNeedDrain)) {
      this.paused = true;
      source.pause();
    } else if (this.paused && this.buffered <= LOW_WATER_BYTES && !dest.writableNeedDrain) {
      this.paused = false;
      source.resume();
    }
  }
}

function deliver(items: Item[], to: Sink): void {
  for (const item of items) {
    if ('end' in item) to.end(item.end);
    else to.push(item.chunk);
  }
}
