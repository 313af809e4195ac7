/**
 * A schema mutation: the one thing broken in an otherwise valid event (a field deleted or set to a bad value,
 * an unknown extra field in `data`, a duplicated or one-too-many essay id, or the event sent to the wrong
 * topic), and how it is applied.
 */
import { MAX_ESSAYS } from './limits.js';
import type { Ev } from './valid-events.js';

export type Path = readonly [string] | readonly ['data', string];
export type Mutation =
  | { readonly kind: 'delete'; readonly path: Path }
  | { readonly kind: 'set'; readonly path: Path; readonly value: unknown }
  | { readonly kind: 'extra'; readonly key: string; readonly value: unknown }
  | { readonly kind: 'duplicateEssay'; readonly at: number }
  | { readonly kind: 'tooManyEssays' }
  | { readonly kind: 'wrongTopic'; readonly shift: 1 | 2 };

/** A copy of `ev` with `m` applied (`wrongTopic` leaves the value alone: the topic is chosen by the caller). */
export function applyMutation(ev: Ev, m: Mutation): Ev {
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
