/**
 * Kafka's wire format as the fronts read and write it: big-endian fields,
 * non-flexible versions only, and frames (a 4-byte size, then the frame).
 */

export class Reader {
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

export class Writer {
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
export function sized(frame: Buffer): Buffer {
  const size = Buffer.allocUnsafe(4);
  size.writeInt32BE(frame.length);
  return Buffer.concat([size, frame]);
}

/** Splits a byte stream into Kafka frames (a 4-byte size, then the frame). */
export class Framer {
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
