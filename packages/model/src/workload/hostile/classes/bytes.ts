/**
 * The `bytes` class: values that are not UTF-8 text or not JSON at all: arbitrary bytes, the empty value
 * (zero bytes), a single 0x00, 0xff / 0xfe, a lone BOM, invalid UTF-8 (lone continuation bytes, overlong
 * encodings, encoded surrogates `ED A0 80`, code points past U+10FFFF, cut sequences) alone or amid text, raw
 * invalid UTF-8 inside a valid event's `batch_id` (it decodes to U+FFFD, which an id may not contain), a valid
 * event encoded as UTF-16, and a valid event followed by a C-style NUL terminator.
 */
import fc from 'fast-check';
import { hostileText, invalidUtf8, utf8 } from '../text.js';
import { MARK, type ValueContext, type ValueDraft } from './context.js';

export function bytesValues({ p, anyEvent, eventJson, onTopic }: ValueContext): fc.Arbitrary<ValueDraft> {
  return onTopic(
    fc.oneof(
      fc.uint8Array({ maxLength: 512, size: 'max' }).map((b) => Buffer.from(b)),
      fc
        .oneof(
          { arbitrary: fc.constant<readonly number[]>([0x00]), weight: 3 },
          { arbitrary: fc.constant<readonly number[]>([]), weight: 2 },
          {
            arbitrary: fc.constantFrom<readonly number[]>(
              [0xff],
              [0xfe],
              [0xfe, 0xff],
              [0xef, 0xbb, 0xbf],
              [0x00, 0x00],
            ),
            weight: 5,
          },
        )
        .map((b) => Buffer.from(b)),
      invalidUtf8,
      fc
        .tuple(fc.string({ unit: 'grapheme-ascii', maxLength: 16, size: 'max' }), invalidUtf8, hostileText(0, 16))
        .map(([a, bad, b]) => Buffer.concat([utf8(a), bad, utf8(b)])),
      // Decodes to U+FFFD inside the batch id: parses, then fails the Id pattern.
      fc.tuple(anyEvent, invalidUtf8).map(([ev, bad]) => {
        const [before = '', after = ''] = JSON.stringify({
          ...ev,
          data: { ...ev.data, batch_id: `${p}-hx${MARK}` },
        }).split(MARK);
        return Buffer.concat([utf8(before), bad, utf8(after)]);
      }),
      fc.tuple(eventJson, fc.constantFrom('le', 'le-bom', 'be-bom')).map(([json, how]) => {
        const le = Buffer.from(how === 'le' ? json : `\ufeff${json}`, 'utf16le');
        return how === 'be-bom' ? Buffer.from(le).swap16() : le;
      }),
      eventJson.map((json) => Buffer.concat([utf8(json), Buffer.from([0])])),
    ),
  );
}
