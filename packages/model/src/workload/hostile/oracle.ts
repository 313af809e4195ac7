/**
 * The oracle: the input contract's acceptance rule, written here from the contracts (`@chaos-lab/contracts`)
 * because the lab never imports the coordinator. The generator keeps only what it rejects, so a plan never
 * contains a message the coordinator would rightly accept.
 */
import { InputEvent, MAX_EVENT_BYTES, topicFor, type Topics } from '@chaos-lab/contracts';

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
