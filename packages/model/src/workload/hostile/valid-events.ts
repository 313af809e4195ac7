/**
 * Valid events, the base every hostile value starts from: each input event type drawn with its fields at
 * their limits too (200-character ids, 500-character file names, 10,000 essay ids, NUL and lone surrogates in
 * free text), so that the one thing a mutation breaks is the only thing wrong.
 *
 * Batch ids inside the JSON start with `${idPrefix}-hx`, so runs that share stores never collide and no valid
 * id equals a batch of the assignment workload (`${idPrefix}-b…`, `-burst`, `-deadline…`, `-orphan…`).
 */
import fc from 'fast-check';
import { EventType, type InputEvent } from '@chaos-lab/contracts';
import { MAX_CORRELATION, MAX_ESSAYS, MAX_FILE_NAME, MAX_ID, MAX_REASON } from './limits.js';
import { hostileText, toLength } from './text.js';

export type InputType = InputEvent['event_type'];
export const INPUT_TYPES: readonly InputType[] = [
  EventType.BatchRegistered,
  EventType.ContentProvisioned,
  EventType.ValidationFailed,
  EventType.ValidationFailedV2,
];
export type Ev = Record<string, unknown> & { data: Record<string, unknown> };

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

/** The arbitraries of valid ids and events for the id prefix `p`. */
export function validEventArbitraries(p: string) {
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
