/**
 * Hostile inputs: a seeded generator of Kafka messages that no coordinator may
 * accept, drawn with fast-check from the input contracts
 * (`@chaos-lab/contracts`), for DESIGN §6 ("finding what nobody named"). Every
 * message it plans is poison: the coordinator must dead-letter each one exactly
 * once and keep consuming its partition. {@link contractAccepts} is the oracle
 * (the contract's acceptance rule, written here from the contracts because the
 * lab never imports the coordinator); the generator keeps only what it rejects,
 * so a plan never contains a message the coordinator would rightly accept.
 *
 * What the generator may produce, by class (the entry's `role` is
 * `hostile:<class>`):
 *
 * - `bytes`: values that are not UTF-8 text or not JSON at all: arbitrary bytes,
 *   the empty value (zero bytes), a single 0x00, 0xff / 0xfe, a lone BOM,
 *   invalid UTF-8 (lone continuation bytes, overlong encodings, encoded
 *   surrogates `ED A0 80`, code points past U+10FFFF, cut sequences) alone or
 *   amid text, raw invalid UTF-8 inside a valid event's `batch_id` (it decodes
 *   to U+FFFD, which an id may not contain), a valid event encoded as UTF-16,
 *   and a valid event followed by a C-style NUL terminator.
 * - `text-json-broken`: UTF-8 text that is not the JSON of an object: a valid
 *   event's JSON cut at any byte (possibly inside a multi-byte character), raw control characters U+0000–U+001F inside a
 *   string, a BOM before the JSON, trailing commas, single quotes, comments,
 *   `NaN`, trailing garbage, two events back to back, deeply nested arrays,
 *   and JSON that parses but is not an event object (`null`, `[]`, a string,
 *   a number, an event wrapped in an array).
 * - `schema`: well-formed JSON of each input event type with exactly one thing
 *   broken: a field missing, of the wrong type, empty, or past its maximum
 *   (Id 200, file name 500, reason 2000, correlation id 200 code points, as
 *   zod counts them; 10,000 essay ids); ids holding forbidden characters (NUL, control characters, lone
 *   surrogates as `\ud800` escapes, U+FFFF, emoji, spaces…); duplicated essay
 *   ids; deadlines and timestamps that are not offset datetimes; a bad
 *   `event_id`; `data` not an object; an unknown extra field in `data` (the
 *   data schemas are strict; `__proto__` and `constructor` included); an
 *   unknown, mistyped or missing `event_type` (near-misses, output types, the
 *   type of another input); a valid event on another input topic. The fields
 *   left intact are drawn at their limits too (200-character ids, 500-character
 *   file names, 10,000 essay ids, NUL and lone surrogates in free text).
 * - `oversized`: a valid event padded (JSON whitespace, or an extra envelope
 *   field, which the envelope tolerates) to 1–1024 bytes over
 *   `MAX_EVENT_BYTES`, so that only its size is wrong. Scheduled, not drawn:
 *   exactly one entry in every block of 50 (at a seeded position), so a plan
 *   of 50 or more always has some and runs stay fast.
 * - `keys`: a value of any class above with a hostile key: none (null), empty,
 *   huge (10–64 KiB), holding 0x00, invalid UTF-8, arbitrary bytes, or hostile
 *   text. One oversized slot in ten gets a hostile key too (and this role).
 *   Entries of the other classes carry their printable fallback key as bytes.
 *
 * Batch ids inside the JSON start with `${idPrefix}-hx`, so runs that share
 * stores never collide and no valid id equals a batch of the assignment
 * workload (`${idPrefix}-b…`, `-burst`, `-deadline…`, `-orphan…`).
 *
 * Determinism: a plan is a pure function of (seed, options), drawn with
 * `fc.sample` under an explicit seed and random generator; every size is
 * explicit, so `fc.configureGlobal` cannot change it. The same seed gives the
 * same bytes on any machine with the same fast-check version (the lockfile
 * pins it; an upgrade may change the stream, not the classes).
 */
import fc from 'fast-check';
import {
  EventType,
  InputEvent,
  MAX_EVENT_BYTES,
  inputTopics,
  topicFor,
  topics as topicNames,
  type Topics,
} from '@chaos-lab/contracts';
import { InvalidArgumentError } from '@chaos-lab/errors';
import type { PlannedPublish } from './assignment-workload.js';

export type HostileClass = 'bytes' | 'text-json-broken' | 'schema' | 'oversized' | 'keys';

/** Every class the generator draws from; the module header says what each may produce. */
export const HOSTILE_CLASSES: readonly HostileClass[] = [
  /** Not UTF-8 text, or not JSON: raw and invalid bytes, empty, NUL. */
  'bytes',
  /** UTF-8 text that is not an event object's JSON: truncated, control characters, syntax errors. */
  'text-json-broken',
  /** Well-formed JSON with one field broken, an unknown type, or the wrong topic. */
  'schema',
  /** A valid event just over MAX_EVENT_BYTES. */
  'oversized',
  /** Any hostile value with a hostile key (null, empty, huge, NUL, invalid UTF-8). */
  'keys',
];

export interface HostileInputOptions {
  /** Number of messages to plan (0 to 100,000). */
  readonly count: number;
  /** Prefix of every batch id and key (letters, digits and . _ : -, 1 to 60 characters). */
  readonly idPrefix: string;
  /** Topic names. Default `topics()` (no prefix). */
  readonly topics?: Topics;
  /**
   * Partitions of the input topics (1 to 1000). When given, about half the entries carry an explicit
   * partition in [0, partitions); default: none do (the producer partitions by key).
   */
  readonly partitions?: number;
}

// ---- the oracle -------------------------------------------------------------

const KNOWN_TYPES = new Set<string>(InputEvent.options.map((o) => o.shape.event_type.value));

/**
 * Whether the input contract accepts `value` on `topic`: not empty, at most `MAX_EVENT_BYTES`, JSON after
 * UTF-8 decoding (invalid sequences become U+FFFD), a known input `event_type`, valid against `InputEvent`,
 * and on that type's topic. The coordinator must dead-letter exactly the messages for which this is false.
 */
export function contractAccepts(topic: string, value: Uint8Array, topics: Topics): boolean {
  if (value.length === 0 || value.length > MAX_EVENT_BYTES) return false;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } catch {
    return false;
  }
  const type = (json as { event_type?: unknown } | null)?.event_type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) return false;
  const r = InputEvent.safeParse(json);
  return r.success && topicFor(topics, r.data.event_type) === topic;
}

// ---- hostile text -----------------------------------------------------------

/** Characters an Id may not hold, each a known troublemaker for JSON, UTF-8, PostgreSQL or Redis keys. */
const EDGE_CHARS = [
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
function hostileText(min: number, max: number): fc.Arbitrary<string> {
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
function toLength(s: string, n: number): string {
  const points = [...s];
  return points.length >= n ? points.slice(0, n).join('') : s + 'x'.repeat(n - points.length);
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

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
const invalidUtf8 = fc.constantFrom(...INVALID_UTF8).map((b) => Buffer.from(b));

// ---- valid events (the base every mutation starts from) ---------------------

type InputType = InputEvent['event_type'];
const INPUT_TYPES: readonly InputType[] = [
  EventType.BatchRegistered,
  EventType.ContentProvisioned,
  EventType.ValidationFailed,
  EventType.ValidationFailedV2,
];
type Ev = Record<string, unknown> & { data: Record<string, unknown> };

const MAX_ID = 200;
const MAX_FILE_NAME = 500;
const MAX_REASON = 2000;
const MAX_CORRELATION = 200;
const MAX_ESSAYS = 10_000;

const validDatetime = fc.oneof(
  fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }).map((ms) => new Date(ms).toISOString()),
  fc.constantFrom('2026-01-01T00:00:00Z', '2026-01-01T00:00:00+02:00', '2026-06-30T23:59:59.999-05:30'),
);

/** Free text that the contract accepts (1 to `max` code points): plain, hostile, or exactly at the limit. */
function validText(max: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40, size: 'max' }),
    hostileText(1, Math.min(max, 200)),
    hostileText(1, 40).map((s) => toLength(s, max)),
  );
}

function arbitraries(p: string) {
  const hx = fc.nat().map((n) => `${p}-hx${n}`);
  const validId = fc.oneof(
    { arbitrary: hx, weight: 4 },
    { arbitrary: hx.map((s) => toLength(`${s}-`, MAX_ID)), weight: 1 },
  );
  const essayIds = fc.oneof(
    {
      arbitrary: fc
        .uniqueArray(fc.nat(), { minLength: 1, maxLength: 20, size: 'max' })
        .map((ns) => ns.map((n) => `${p}-hx-e${n}`)),
      weight: 100,
    },
    // The contract's maximum; short ids keep the event far below MAX_EVENT_BYTES.
    { arbitrary: fc.constant(null).map(() => Array.from({ length: MAX_ESSAYS }, (_, i) => `e${i}`)), weight: 1 },
  );
  const envelope = fc.record({
    event_id: fc.uuid({ version: 4 }),
    correlation_id: fc.oneof(
      hx.map((s) => `${s}-corr`),
      validText(MAX_CORRELATION),
    ),
    occurred_at: validDatetime,
  });
  const data: Record<InputType, fc.Arbitrary<Record<string, unknown>>> = {
    [EventType.BatchRegistered]: fc.record(
      { batch_id: hx, essay_ids: essayIds, deadline: validDatetime },
      { requiredKeys: ['batch_id', 'essay_ids'] },
    ),
    [EventType.ContentProvisioned]: fc.record({
      batch_id: validId,
      text_storage_id: validId,
      original_file_name: validText(MAX_FILE_NAME),
    }),
    [EventType.ValidationFailed]: fc.record({
      batch_id: validId,
      original_file_name: validText(MAX_FILE_NAME),
      reason: validText(MAX_REASON),
    }),
    [EventType.ValidationFailedV2]: fc.record({
      batch_id: validId,
      upload_id: validId,
      original_file_name: validText(MAX_FILE_NAME),
      reason: validText(MAX_REASON),
    }),
  };
  const event = (type: InputType): fc.Arbitrary<Ev> =>
    fc.tuple(envelope, data[type]).map(([env, d]) => ({ ...env, event_type: type, data: d }));
  const anyEvent = fc.constantFrom(...INPUT_TYPES).chain(event);
  return { hx, validId, event, anyEvent };
}

// ---- schema mutations -------------------------------------------------------

type FieldKind = 'uuid' | 'text200' | 'datetime' | 'optionalDatetime' | 'object' | 'id' | 'ids' | 'fileName' | 'reason';
type Path = readonly [string] | readonly ['data', string];
type Mutation =
  | { readonly kind: 'delete'; readonly path: Path }
  | { readonly kind: 'set'; readonly path: Path; readonly value: unknown }
  | { readonly kind: 'extra'; readonly key: string; readonly value: unknown }
  | { readonly kind: 'duplicateEssay'; readonly at: number }
  | { readonly kind: 'tooManyEssays' }
  | { readonly kind: 'wrongTopic'; readonly shift: 1 | 2 };

const ENVELOPE_FIELDS: readonly (readonly [string, FieldKind])[] = [
  ['event_id', 'uuid'],
  ['correlation_id', 'text200'],
  ['occurred_at', 'datetime'],
  ['data', 'object'],
];
const DATA_FIELDS: Record<InputType, readonly (readonly [string, FieldKind])[]> = {
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
const UNKNOWN_TYPES = [
  '',
  'batch.registered',
  'batch.registered.v2',
  'batch.registered.v0',
  'BATCH.REGISTERED.V1',
  ' batch.registered.v1',
  'batch.registered.v1 ',
  'batch.registered.v1\u0000',
  'essay.content.provisioned.v1\n',
  'essay.content.provisioned.v2',
  'essay.validation.failed',
  EventType.SlotAssigned,
  EventType.ExcessContent,
  EventType.BatchReady,
  EventType.BatchTimedOut,
  EventType.DeadLetter,
  'batch.deleted.v9',
  '__proto__',
  'constructor',
];

function mutationsOf(path: Path, kind: FieldKind, p: string, validId: fc.Arbitrary<string>): fc.Arbitrary<Mutation> {
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

function applyMutation(ev: Ev, m: Mutation): Ev {
  const out: Ev = { ...ev, data: { ...ev.data } };
  const target = (path: Path): [Record<string, unknown>, string] =>
    path.length === 2 ? [out.data, path[1]] : [out, path[0]];
  switch (m.kind) {
    case 'delete': {
      const [obj, key] = target(m.path);
      delete obj[key];
      break;
    }
    case 'set': {
      const [obj, key] = target(m.path);
      obj[key] = m.value;
      break;
    }
    case 'extra':
      // defineProperty: `__proto__` must become an own key, as JSON.parse makes it.
      Object.defineProperty(out.data, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      break;
    case 'duplicateEssay': {
      const ids = out.data.essay_ids as string[];
      const copy = [...ids];
      copy.splice(m.at % (ids.length + 1), 0, ids[m.at % ids.length]!);
      out.data.essay_ids = copy;
      break;
    }
    case 'tooManyEssays':
      out.data.essay_ids = Array.from({ length: MAX_ESSAYS + 1 }, (_, i) => `e${i}`);
      break;
    case 'wrongTopic':
      break;
  }
  return out;
}

// ---- the classes ------------------------------------------------------------

interface ValueDraft {
  readonly topic: string;
  readonly value: Buffer;
}

interface Draft extends ValueDraft {
  readonly cls: HostileClass;
  /** Exact key bytes, null for none; undefined: the printable fallback key. */
  readonly keyBytes?: Buffer | null;
  readonly partition?: number;
}

const MARK = 'HOSTILEMARK7f3a';
/** One oversized entry per this many (DESIGN: rare, to keep runs fast). */
const OVERSIZED_EVERY = 50;

function valueArbitraries(p: string, t: Topics) {
  const { event, anyEvent, validId } = arbitraries(p);
  const inputs = inputTopics(t);
  const anyTopic = fc.constantFrom(...inputs);
  const onTopic = (value: fc.Arbitrary<Buffer>): fc.Arbitrary<ValueDraft> =>
    fc.tuple(anyTopic, value).map(([topic, v]) => ({ topic, value: v }));
  /** A valid event's JSON with MARK somewhere inside a string (a batch id or a free-text field). */
  const marked = fc.tuple(anyEvent, fc.constantFrom('batch_id', 'correlation_id', 'free')).map(([ev, where]) => {
    const d = { ...ev.data };
    const free = 'original_file_name' in d ? 'original_file_name' : 'batch_id';
    if (where === 'correlation_id') return JSON.stringify({ ...ev, correlation_id: MARK });
    d[where === 'free' ? free : 'batch_id'] = `${p}-hx${MARK}`;
    return JSON.stringify({ ...ev, data: d });
  });
  const eventJson = anyEvent.map((ev) => JSON.stringify(ev));

  const bytes = onTopic(
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

  const textJsonBroken = onTopic(
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

  const schemaFor = (type: InputType): fc.Arbitrary<ValueDraft> => {
    const fields = [
      ...ENVELOPE_FIELDS.map(([name, kind]) => [[name] as Path, kind] as const),
      ...DATA_FIELDS[type].map(([name, kind]) => [['data', name] as Path, kind] as const),
    ];
    const mutation = fc.oneof(
      { arbitrary: fc.oneof(...fields.map(([path, kind]) => mutationsOf(path, kind, p, validId))), weight: 12 },
      {
        arbitrary: fc
          .oneof(
            fc.constantFrom<unknown>(...UNKNOWN_TYPES, ...INPUT_TYPES.filter((x) => x !== type)),
            hostileText(0, 30),
          )
          .map((v): Mutation => ({ kind: 'set', path: ['event_type'], value: v })),
        weight: 1,
      },
      {
        arbitrary: fc
          .constantFrom<unknown>(null, 1, true, [type], { type })
          .map((v): Mutation => ({ kind: 'set', path: ['event_type'], value: v })),
        weight: 1,
      },
      { arbitrary: fc.constant<Mutation>({ kind: 'delete', path: ['event_type'] }), weight: 1 },
      { arbitrary: fc.constantFrom<1 | 2>(1, 2).map((shift): Mutation => ({ kind: 'wrongTopic', shift })), weight: 2 },
    );
    const own = inputs.indexOf(topicFor(t, type));
    return fc.tuple(event(type), mutation).map(([ev, m]) => ({
      topic: m.kind === 'wrongTopic' ? inputs[(own + m.shift) % inputs.length]! : inputs[own]!,
      value: utf8(JSON.stringify(applyMutation(ev, m))),
    }));
  };
  const schema = fc.oneof(...INPUT_TYPES.map(schemaFor));

  const oversized = fc
    .tuple(anyEvent, fc.integer({ min: 1, max: 1024 }), fc.boolean())
    .map(([ev, over, whitespace]): ValueDraft => {
      const target = MAX_EVENT_BYTES + over;
      let json: string;
      if (whitespace) {
        const plain = JSON.stringify(ev);
        json = `{${' '.repeat(target - Buffer.byteLength(plain))}${plain.slice(1)}`;
      } else {
        // The envelope is not strict: an extra field is tolerated, so only the size is wrong.
        const empty = Buffer.byteLength(JSON.stringify({ ...ev, pad: '' }));
        json = JSON.stringify({ ...ev, pad: 'x'.repeat(target - empty) });
      }
      return { topic: topicFor(t, ev.event_type as InputType), value: utf8(json) };
    });

  return { bytes, textJsonBroken, schema, oversized };
}

function keyArbitrary(): fc.Arbitrary<Buffer | null> {
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

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(name, v, `an integer from ${min} to ${max}`);
  }
}

/**
 * Plans `count` hostile messages for `seed`: every one rejected by {@link contractAccepts}, so every one
 * must be dead-lettered exactly once. Pure: the same (seed, options) give the same entries, byte for byte.
 */
export function planHostileInputs(seed: number, o: HostileInputOptions): PlannedPublish[] {
  checkInt('seed', seed, 0, 0xffff_ffff);
  checkInt('count', o.count, 0, 100_000);
  if (typeof o.idPrefix !== 'string' || !/^[A-Za-z0-9._:-]{1,60}$/.test(o.idPrefix)) {
    throw new InvalidArgumentError('idPrefix', o.idPrefix, 'letters, digits and . _ : - (1 to 60 characters)');
  }
  if (o.partitions !== undefined) checkInt('partitions', o.partitions, 1, 1000);
  if (o.count === 0) return [];
  const t = o.topics ?? topicNames();
  const v = valueArbitraries(o.idPrefix, t);
  const partitions = o.partitions;
  const partition =
    partitions === undefined ? fc.constant(undefined) : fc.option(fc.nat(partitions - 1), { nil: undefined });
  const valueOf = (cls: Exclude<HostileClass, 'keys'>, a: fc.Arbitrary<ValueDraft>) =>
    fc.tuple(a, partition).map(([d, part]): Draft => ({ ...d, cls, partition: part }));
  const keyed = (value: fc.Arbitrary<ValueDraft>) =>
    fc
      .tuple(value, keyArbitrary(), partition)
      .map(([d, keyBytes, part]): Draft => ({ ...d, cls: 'keys', keyBytes, partition: part }));
  // Construction already breaks every value; the filter keeps a freak draw (random bytes that happen to
  // form a valid event) out of the plan.
  const rejected = (d: Draft) => !contractAccepts(d.topic, d.value, t);
  const ordinary = fc
    .oneof(
      { arbitrary: valueOf('bytes', v.bytes), weight: 25 },
      { arbitrary: valueOf('text-json-broken', v.textJsonBroken), weight: 25 },
      { arbitrary: valueOf('schema', v.schema), weight: 30 },
      {
        arbitrary: keyed(
          fc.oneof(
            { arbitrary: v.bytes, weight: 30 },
            { arbitrary: v.textJsonBroken, weight: 30 },
            { arbitrary: v.schema, weight: 40 },
          ),
        ),
        weight: 20,
      },
    )
    .filter(rejected);
  const big = fc
    .oneof({ arbitrary: valueOf('oversized', v.oversized), weight: 9 }, { arbitrary: keyed(v.oversized), weight: 1 })
    .filter(rejected);
  // Oversized values are scheduled, not drawn: exactly one in every block of 50 entries, at a seeded
  // position, so they stay rare (each costs 256 KiB to build, send and check) yet a plan of 50 or more
  // always has them. Three streams of one seed: the position, the ordinary entries, the big ones.
  const sample = <T>(arb: fc.Arbitrary<T>, s: number, numRuns: number): T[] =>
    // An explicit random generator and path, so fc.configureGlobal cannot change the stream.
    numRuns === 0 ? [] : fc.sample(arb, { seed: s, numRuns, randomType: 'xorshift128plus', path: '', examples: [] });
  const offset = sample(fc.noBias(fc.nat(OVERSIZED_EVERY - 1)), (seed ^ 0x9e3779b9) >>> 0, 1)[0]!;
  const isBig = (i: number) => i % OVERSIZED_EVERY === offset;
  const nBig = Math.floor(o.count / OVERSIZED_EVERY) + (o.count % OVERSIZED_EVERY > offset ? 1 : 0);
  const ordinaryDrafts = sample(ordinary, seed, o.count - nBig);
  const bigDrafts = sample(big, (seed ^ 0x5bd1e995) >>> 0, nBig);
  let nextOrdinary = 0;
  let nextBig = 0;
  const drafts = Array.from({ length: o.count }, (_, i) =>
    isBig(i) ? bigDrafts[nextBig++]! : ordinaryDrafts[nextOrdinary++]!,
  );
  return drafts.map((d, i): PlannedPublish => {
    const key = `${o.idPrefix}-h${i}`;
    const keyBytes = d.keyBytes === undefined ? utf8(key) : d.keyBytes;
    return {
      topic: d.topic,
      key,
      ...(d.partition === undefined ? {} : { partition: d.partition }),
      valueBase64: d.value.toString('base64'),
      keyBase64: keyBytes === null ? null : keyBytes.toString('base64'),
      role: `hostile:${d.cls}`,
    };
  });
}
