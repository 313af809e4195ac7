/**
 * The `oversized` class: a valid event padded (JSON whitespace, or an extra envelope field, which the envelope
 * tolerates) to 1–1024 bytes over `MAX_EVENT_BYTES`, so that only its size is wrong. Scheduled, not drawn (see
 * the planner): exactly one entry in every block of 50 (at a seeded position), so a plan of 50 or more always
 * has some and runs stay fast.
 */
import fc from 'fast-check';
import { MAX_EVENT_BYTES, topicFor } from '@chaos-lab/contracts';
import { utf8 } from '../text.js';
import type { InputType } from '../valid-events.js';
import type { ValueContext, ValueDraft } from './context.js';

export function oversizedValues({ t, anyEvent }: ValueContext): fc.Arbitrary<ValueDraft> {
  return fc
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
}
