/**
 * Turning a raw Kafka message into a validated input event, or into the
 * reason it must be dead-lettered. Pure: no I/O, so every rejection path is
 * unit-tested.
 */
import { InputEvent, MAX_EVENT_BYTES, type Topics, topicFor } from '@chaos-lab/contracts';

export type Parsed =
  | { readonly ok: true; readonly event: InputEvent }
  | { readonly ok: false; readonly reason: string; readonly category: DeadLetterCategory };

export type DeadLetterCategory =
  'empty' | 'oversized' | 'invalid_json' | 'unknown_event_type' | 'schema_mismatch' | 'wrong_topic';

const KNOWN_TYPES = new Set<string>(InputEvent.options.map((o) => o.shape.event_type.value));

export function parseInput(topic: string, value: Buffer | null, topics: Topics): Parsed {
  if (value === null || value.length === 0)
    return { ok: false, category: 'empty', reason: 'empty: message has no value' };
  if (value.length > MAX_EVENT_BYTES) {
    return {
      ok: false,
      category: 'oversized',
      reason: `oversized: ${value.length} bytes exceeds the limit of ${MAX_EVENT_BYTES}`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, category: 'invalid_json', reason: `invalid_json: ${(err as Error).message}` };
  }
  const type = (json as { event_type?: unknown } | null)?.event_type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
    return {
      ok: false,
      category: 'unknown_event_type',
      reason: `unknown_event_type: ${JSON.stringify(type ?? null).slice(0, 100)}`,
    };
  }
  const r = InputEvent.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    return {
      ok: false,
      category: 'schema_mismatch',
      reason: `schema_mismatch: ${path}: ${issue?.message ?? 'invalid'}`,
    };
  }
  const expected = topicFor(topics, r.data.event_type);
  if (expected !== topic) {
    return {
      ok: false,
      category: 'wrong_topic',
      reason: `wrong_topic: ${r.data.event_type} belongs on ${expected}, not ${topic}`,
    };
  }
  return { ok: true, event: r.data };
}
