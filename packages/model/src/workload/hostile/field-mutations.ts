/**
 * The mutations of each field of the input events, by the kind of field: missing, of the wrong type, empty, or
 * past its maximum (Id 200, file name 500, reason 2000, correlation id 200 code points, as zod counts them;
 * 10,000 essay ids); ids holding forbidden characters (NUL, control characters, lone surrogates as `\ud800`
 * escapes, U+FFFF, emoji, spaces…); duplicated essay ids; deadlines and timestamps that are not offset
 * datetimes; a bad `event_id`; `data` not an object; an unknown extra field in `data` (the data schemas are
 * strict; `__proto__` and `constructor` included).
 */
import fc from 'fast-check';
import { EventType } from '@chaos-lab/contracts';
import { MAX_CORRELATION, MAX_FILE_NAME, MAX_ID, MAX_REASON } from './limits.js';
import type { Mutation, Path } from './mutation.js';
import { EDGE_CHARS, hostileText, toLength } from './text.js';
import type { InputType } from './valid-events.js';

export type FieldKind =
  'uuid' | 'text200' | 'datetime' | 'optionalDatetime' | 'object' | 'id' | 'ids' | 'fileName' | 'reason';

/** The envelope's fields, common to every input event. */
export const ENVELOPE_FIELDS: readonly (readonly [string, FieldKind])[] = [
  ['event_id', 'uuid'],
  ['correlation_id', 'text200'],
  ['occurred_at', 'datetime'],
  ['data', 'object'],
];
/** The fields of each input event's `data`. */
export const DATA_FIELDS: Record<InputType, readonly (readonly [string, FieldKind])[]> = {
  [EventType.BatchRegistered]: [
    ['batch_id', 'id'],
    ['essay_ids', 'ids'],
    ['deadline', 'optionalDatetime'],
  ],
  [EventType.ContentProvisioned]: [
    ['batch_id', 'id'],
    ['text_storage_id', 'id'],
    ['original_file_name', 'fileName'],
  ],
  [EventType.ValidationFailed]: [
    ['batch_id', 'id'],
    ['original_file_name', 'fileName'],
    ['reason', 'reason'],
  ],
  [EventType.ValidationFailedV2]: [
    ['batch_id', 'id'],
    ['upload_id', 'id'],
    ['original_file_name', 'fileName'],
    ['reason', 'reason'],
  ],
};

const wrongTypeForString = fc.constantFrom<unknown>(null, 0, -1, 1.5, 1e308, true, false, [], {}, ['x'], { s: 'x' });
const notADatetime = fc.oneof(
  fc.constantFrom(
    '',
    '2026-01-01',
    '2026-01-01T00:00:00',
    '2026-01-01 00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-32T00:00:00Z',
    '2026-01-01T25:00:00Z',
    '2026-01-01T00:00:00+25:00',
    '+012026-01-01T00:00:00.000Z',
    '1767225600000',
    'tomorrow',
    'Thu, 01 Jan 2026 00:00:00 GMT',
    '2026-01-01T00:00:00Z\u0000',
  ),
  hostileText(0, 32),
);
/** The mutations of the field at `path`, of kind `kind` (`validId`: the base of the bad ids). */
export function mutationsOf(
  path: Path,
  kind: FieldKind,
  p: string,
  validId: fc.Arbitrary<string>,
): fc.Arbitrary<Mutation> {
  const set = (value: fc.Arbitrary<unknown>) => value.map((v): Mutation => ({ kind: 'set', path, value: v }));
  const del = fc.constant<Mutation>({ kind: 'delete', path });
  const overMax = (max: number) =>
    fc.tuple(hostileText(0, 40), fc.nat(63)).map(([s, extra]) => toLength(s, max + 1 + extra));
  const badId = fc.oneof(
    { arbitrary: fc.constant(''), weight: 1 },
    // Ids with a character outside [A-Za-z0-9._:-]; lone surrogates reach the JSON as \ud800 escapes.
    {
      arbitrary: fc
        .tuple(validId, fc.constantFrom(...EDGE_CHARS), hostileText(0, 16), fc.boolean())
        .map(([id, c, s, atEnd]) => (atEnd ? `${id}${c}${s}` : `${p}-hx${c}${s}-${id.slice(p.length)}`)),
      weight: 4,
    },
    // One past the maximum, the extra characters all valid.
    {
      arbitrary: fc.tuple(validId, fc.nat(59)).map(([id, extra]) => toLength(`${id}-`, MAX_ID + 1 + extra)),
      weight: 1,
    },
  );
  switch (kind) {
    case 'uuid':
      return fc.oneof(
        del,
        set(wrongTypeForString),
        set(
          fc.oneof(
            fc.constantFrom(
              '',
              'not-a-uuid',
              '00000000000000000000000000000000',
              '{6f1c2b7e-3a55-4d0b-9a0e-3f1f0b8c2d41}',
            ),
            fc.uuid({ version: 4 }).map((u) => u.replace(/-/g, '')),
            fc.uuid({ version: 4 }).map((u) => `${u}\u0000`),
            hostileText(0, 36),
          ),
        ),
      );
    case 'text200':
      return fc.oneof(del, set(wrongTypeForString), set(fc.constant('')), set(overMax(MAX_CORRELATION)));
    case 'datetime':
      return fc.oneof(del, set(wrongTypeForString), set(notADatetime));
    case 'optionalDatetime':
      return fc.oneof(set(wrongTypeForString), set(notADatetime));
    case 'object':
      return fc.oneof(
        del,
        set(fc.constantFrom<unknown>(null, [], 'data', 0, true, [{}])),
        fc
          .tuple(
            fc.oneof(fc.constantFrom('__proto__', 'constructor', 'batchId', 'event_type', ''), hostileText(1, 20)),
            fc.oneof(wrongTypeForString, hostileText(0, 20)),
          )
          .map(([key, value]): Mutation => ({ kind: 'extra', key, value })),
      );
    case 'id':
      return fc.oneof(
        { arbitrary: del, weight: 1 },
        { arbitrary: set(wrongTypeForString), weight: 1 },
        { arbitrary: set(badId), weight: 3 },
      );
    case 'ids':
      return fc.oneof(
        del,
        set(fc.constantFrom<unknown>(null, 'e1', {}, 7, [], [1, 2], [null])),
        set(fc.array(badId, { minLength: 1, maxLength: 3, size: 'max' })),
        fc.nat().map((at): Mutation => ({ kind: 'duplicateEssay', at })),
        fc.constant<Mutation>({ kind: 'tooManyEssays' }),
      );
    case 'fileName':
      return fc.oneof(del, set(wrongTypeForString), set(fc.constant('')), set(overMax(MAX_FILE_NAME)));
    case 'reason':
      return fc.oneof(del, set(wrongTypeForString), set(fc.constant('')), set(overMax(MAX_REASON)));
  }
}
