/**
 * The `schema` class: well-formed JSON of each input event type with exactly one thing broken: a field
 * mutated (see `field-mutations.ts`: missing, of the wrong type, empty, past its maximum, forbidden
 * characters, duplicated essay ids, bad datetimes, a bad `event_id`, `data` not an object, an unknown extra
 * field in `data`); an unknown, mistyped or missing `event_type` (near-misses, output types, the type of
 * another input); a valid event on another input topic. The fields left intact are drawn at their limits too
 * (see `valid-events.ts`).
 */
import fc from 'fast-check';
import { EventType, topicFor } from '@chaos-lab/contracts';
import { DATA_FIELDS, ENVELOPE_FIELDS, mutationsOf } from '../field-mutations.js';
import { applyMutation, type Mutation, type Path } from '../mutation.js';
import { hostileText, utf8 } from '../text.js';
import { INPUT_TYPES, type InputType } from '../valid-events.js';
import type { ValueContext, ValueDraft } from './context.js';

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

/** One event of `type` with one mutation: of a field, of `event_type`, or of the topic. */
function schemaFor({ p, t, inputs, event, validId }: ValueContext, type: InputType): fc.Arbitrary<ValueDraft> {
  const fields = [
    ...ENVELOPE_FIELDS.map(([name, kind]) => [[name] as Path, kind] as const),
    ...DATA_FIELDS[type].map(([name, kind]) => [['data', name] as Path, kind] as const),
  ];
  const mutation = fc.oneof(
    { arbitrary: fc.oneof(...fields.map(([path, kind]) => mutationsOf(path, kind, p, validId))), weight: 12 },
    {
      arbitrary: fc
        .oneof(fc.constantFrom<unknown>(...UNKNOWN_TYPES, ...INPUT_TYPES.filter((x) => x !== type)), hostileText(0, 30))
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
}

export function schemaValues(c: ValueContext): fc.Arbitrary<ValueDraft> {
  return fc.oneof(...INPUT_TYPES.map((type) => schemaFor(c, type)));
}
