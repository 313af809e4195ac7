/**
 * The classes of hostility: every planned entry belongs to one, and its `role` is `hostile:<class>`. What each
 * class may produce is described in its own module under `classes/`.
 */

export type HostileClass = 'bytes' | 'text-json-broken' | 'schema' | 'oversized' | 'keys';

/** Every class the generator draws from; each class's module (`classes/<class>.ts`) says what it may produce. */
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
