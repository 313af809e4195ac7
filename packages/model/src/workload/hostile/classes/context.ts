/**
 * What the value classes share: the valid events of one id prefix, the input topics, and the valid event's
 * JSON (plain, or with {@link MARK} inside a string for a class to replace).
 */
import fc from 'fast-check';
import { inputTopics, type Topics } from '@chaos-lab/contracts';
import { validEventArbitraries } from '../valid-events.js';

/** A hostile value and the topic it goes to. */
export interface ValueDraft {
  readonly topic: string;
  readonly value: Buffer;
}

/** A marker placed inside a string of a valid event's JSON, for a class to replace with something hostile. */
export const MARK = 'HOSTILEMARK7f3a';

/** The arbitraries the value classes build on, for the id prefix `p` and the topics `t`. */
export function valueContext(p: string, t: Topics) {
  const { event, anyEvent, validId } = validEventArbitraries(p);
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
  return { p, t, inputs, event, anyEvent, validId, onTopic, marked, eventJson };
}

export type ValueContext = ReturnType<typeof valueContext>;
