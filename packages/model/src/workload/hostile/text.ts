/**
 * Hostile text and bytes, the raw material of every class: text full of characters that trouble JSON,
 * UTF-8, PostgreSQL or Redis keys, lone surrogates included, and invalid UTF-8 sequences.
 */
import fc from 'fast-check';

/** Characters an Id may not hold, each a known troublemaker for JSON, UTF-8, PostgreSQL or Redis keys. */
export const EDGE_CHARS = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0080',
  '\u00a0',
  '\u00e9',
  'e\u0301',
  '\u200b',
  '\u2028',
  '\u2029',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '\ud83d',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '😀',
  ' ',
  '"',
  "'",
  '\\',
  '/',
  '%',
  '*',
  '{',
  '}',
  '$',
  '#',
] as const;

/** One UTF-16 code unit, lone surrogates included (fc's 'binary' unit never yields half a pair). */
const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Text of up to `max` UTF-16 units (at least `min`) mixing edge characters, any code point and any code unit. */
export function hostileText(min: number, max: number): fc.Arbitrary<string> {
  // A code point is one or two units: half as many keep the text within `max` units.
  const points = Math.max(min, Math.floor(max / 2));
  return fc.oneof(
    fc.string({ unit: 'binary', minLength: min, maxLength: points, size: 'max' }),
    fc.string({ unit: utf16Unit, minLength: min, maxLength: max, size: 'max' }),
    fc
      .tuple(
        fc.string({ unit: 'grapheme-ascii', maxLength: 8, size: 'max' }),
        fc.constantFrom(...EDGE_CHARS),
        fc.string({ unit: utf16Unit, maxLength: 8, size: 'max' }),
      )
      .map((parts) => parts.join('').slice(0, max))
      .filter((s) => s.length >= min),
  );
}

/**
 * `s` cut or padded with 'x' to exactly `n` code points: zod counts a string's length in code points (a
 * surrogate pair is one, a lone surrogate one), so that is what "at the limit" and "one past it" mean.
 */
export function toLength(s: string, n: number): string {
  const points = [...s];
  return points.length >= n ? points.slice(0, n).join('') : s + 'x'.repeat(n - points.length);
}

export const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Invalid UTF-8: each decodes to U+FFFD (or several) in Node. */
const INVALID_UTF8: readonly (readonly number[])[] = [
  [0x80],
  [0xbf],
  [0x80, 0x80, 0x80],
  [0xc0, 0x80], // overlong NUL
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf], // overlong '/'
  [0xf0, 0x80, 0x80, 0x80],
  [0xed, 0xa0, 0x80], // U+D800 encoded
  [0xed, 0xbf, 0xbf], // U+DFFF encoded
  [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80], // CESU-8 emoji
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
  [0xff],
  [0xfe],
  [0xfe, 0xff],
  [0xc3], // cut 2-byte sequence
  [0xe2, 0x82], // cut 3-byte sequence
  [0xf0, 0x9f, 0x98], // cut emoji
];
export const invalidUtf8 = fc.constantFrom(...INVALID_UTF8).map((b) => Buffer.from(b));
