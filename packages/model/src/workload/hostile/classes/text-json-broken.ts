/**
 * The `text-json-broken` class: UTF-8 text that is not the JSON of an object: a valid event's JSON cut at any
 * byte (possibly inside a multi-byte character), raw control characters U+0000–U+001F inside a string, a BOM
 * before the JSON, trailing commas, single quotes, comments, `NaN`, trailing garbage, two events back to back,
 * deeply nested arrays, and JSON that parses but is not an event object (`null`, `[]`, a string, a number, an
 * event wrapped in an array).
 */
import fc from 'fast-check';
import { hostileText, utf8 } from '../text.js';
import { MARK, type ValueContext, type ValueDraft } from './context.js';

export function textJsonBrokenValues({ eventJson, marked, onTopic }: ValueContext): fc.Arbitrary<ValueDraft> {
  return onTopic(
    fc.oneof(
      // Cut anywhere, at the byte level (possibly inside a multi-byte character).
      fc
        // Unbiased: a biased draw cuts at 0 half the time early on, and the empty value has its own variant.
        .tuple(eventJson, fc.noBias(fc.integer({ min: 0, max: 2 ** 30 - 1 })))
        .map(([json, n]) => {
          const b = utf8(json);
          return b.subarray(0, Math.floor((n / 2 ** 30) * b.length));
        }),
      // Raw control characters inside a JSON string.
      fc
        .tuple(
          marked,
          fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
          hostileText(0, 8),
          fc.boolean(),
        )
        .map(([json, ctrl, s, before]) => utf8(json.replace(MARK, before ? `${ctrl}${s}` : `${s}${ctrl}`))),
      fc
        .tuple(
          eventJson,
          fc.constantFrom(
            'bom',
            'trailing-comma',
            'single-quotes',
            'comment',
            'nan',
            'garbage',
            'concatenated',
            'unquoted-key',
            'wrapped',
          ),
          hostileText(0, 16),
        )
        .map(([json, how, s]) => {
          switch (how) {
            case 'bom':
              return utf8(`\ufeff${json}`);
            case 'trailing-comma':
              return utf8(`${json.slice(0, -1)},}`);
            case 'single-quotes':
              return utf8(json.replace(/"/g, "'"));
            case 'comment':
              return utf8(`/* ${s.replace(/\*\//g, '')} */${json}`);
            case 'nan':
              return utf8(`${json.slice(0, -1)},"n":NaN}`);
            case 'garbage':
              return utf8(`${json}x${s}`);
            case 'concatenated':
              return utf8(`${json}${json}`);
            case 'unquoted-key':
              return utf8(json.replace('"event_type"', 'event_type'));
            case 'wrapped':
              return utf8(`[${json}]`);
          }
        }),
      fc
        .constantFrom('null', '[]', '{}', '""', '"batch.registered.v1"', '0', '-0', '1e999', 'true', ' ', '\n')
        .map(utf8),
      // Deep nesting: closed (parses, no event_type) or left open.
      fc
        .tuple(fc.integer({ min: 500, max: 5000 }), fc.boolean())
        .map(([depth, closed]) => utf8('['.repeat(depth) + (closed ? ']'.repeat(depth) : ''))),
    ),
  );
}
