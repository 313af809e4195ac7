/**
 * The `keys` class's keys: none (null), empty, huge (10–64 KiB), holding 0x00, invalid UTF-8, arbitrary bytes,
 * or hostile text. The planner pairs one with a value of any other class (`bytes`, `text-json-broken`,
 * `schema`); one oversized slot in ten gets a hostile key too (and the role `hostile:keys`). Entries of the
 * other classes carry their printable fallback key as bytes.
 */
import fc from 'fast-check';
import { hostileText, invalidUtf8, utf8 } from '../text.js';

export function keyArbitrary(): fc.Arbitrary<Buffer | null> {
  return fc.oneof(
    fc.constant(null),
    fc.constant(Buffer.alloc(0)),
    fc.constantFrom<readonly number[]>([0x00], [0x00, 0x00], [0xff]).map((b) => Buffer.from(b)),
    // Huge: a drawn pattern repeated to 10–64 KiB (drawing every byte would be slow).
    fc
      .tuple(
        fc.integer({ min: 10 * 1024, max: 64 * 1024 }),
        fc.uint8Array({ minLength: 1, maxLength: 64, size: 'max' }),
      )
      .map(([n, pattern]) => Buffer.alloc(n, Buffer.from(pattern))),
    fc.tuple(hostileText(0, 16), hostileText(0, 16)).map(([a, b]) => utf8(`${a}\u0000${b}`)),
    fc
      .tuple(fc.string({ unit: 'grapheme-ascii', maxLength: 16, size: 'max' }), invalidUtf8)
      .map(([a, bad]) => Buffer.concat([utf8(a), bad])),
    fc.uint8Array({ minLength: 1, maxLength: 256, size: 'max' }).map((b) => Buffer.from(b)),
    hostileText(1, 64).map(utf8),
  );
}
