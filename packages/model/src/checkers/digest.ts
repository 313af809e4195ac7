/**
 * Indexes shared by the checkers: output events grouped into distinct logical
 * events, and the Postgres final state keyed the ways the checkers look it up.
 *
 * Delivery is at-least-once and output event ids are deterministic, so the
 * unit of reasoning is the *distinct* event, not the delivery. Two deliveries
 * are the same event when they have the same `event_id` AND the same `data`
 * (compared as a set: array order in `data` carries no meaning). A same id
 * with different data is not a redelivery: it is two different claims under
 * one name (e.g. a content re-assigned to another slot after a crash, which
 * keeps the id derived from batch + content), and checkers treat it as such.
 */
import { eventIds, EventType, failureIdentity, InputEvent } from '@chaos-lab/contracts';
import type {
  BatchReady,
  BatchTimedOut,
  DeadLetter,
  ExcessContent,
  OutputEvent,
  SlotAssigned,
} from '@chaos-lab/contracts';
import { publishedEvents, type HistoryEntry, type Observed } from '../history/history.js';
import { EFFECT_AGO_MS, type FinalState, type PgBatch, type PgExcess, type PgPending, type PgSlot } from './types.js';

/** An unambiguous composite map key. */
export function key(...parts: string[]): string {
  return JSON.stringify(parts);
}

/** `a`, `a and b`, `a, b and c` — for messages. */
export function list(items: Iterable<string>): string {
  const xs = [...items];
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** JSON with object keys sorted and arrays treated as sets (sorted by their canonical form). */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).sort().join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

export function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const xs = map.get(k);
  if (xs === undefined) map.set(k, [v]);
  else xs.push(v);
}

export function sortedUnique(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}

// ---- outputs ----------------------------------------------------------------

export interface DistinctEvent<E extends OutputEvent> {
  event: E;
  /** How many times this exact event (id + data) was observed. */
  deliveries: number;
  /** Time of the first delivery. */
  firstTime: number;
}

export interface OutputDigest {
  slotAssigned: DistinctEvent<SlotAssigned>[];
  excess: DistinctEvent<ExcessContent>[];
  ready: DistinctEvent<BatchReady>[];
  timedOut: DistinctEvent<BatchTimedOut>[];
  deadLetters: DistinctEvent<DeadLetter>[];
  /** Observed messages that were not contract events. */
  unparsed: Observed[];
  /** Total observed deliveries of parsed events. */
  deliveries: number;
  /** Deliveries beyond the first of a distinct event. */
  redeliveries: number;
}

export function digestOutputs(history: readonly HistoryEntry[]): OutputDigest {
  const byKey = new Map<string, DistinctEvent<OutputEvent>>();
  const unparsed: Observed[] = [];
  let deliveries = 0;
  for (const e of history) {
    if (e.type !== 'observe') continue;
    if (e.event === undefined) {
      unparsed.push(e);
      continue;
    }
    deliveries++;
    const k = key(e.event.event_type, e.event.event_id, canonical(e.event.data));
    const seen = byKey.get(k);
    if (seen) seen.deliveries++;
    else byKey.set(k, { event: e.event, deliveries: 1, firstTime: e.time });
  }
  const d: OutputDigest = {
    slotAssigned: [],
    excess: [],
    ready: [],
    timedOut: [],
    deadLetters: [],
    unparsed,
    deliveries,
    redeliveries: deliveries - byKey.size,
  };
  for (const x of byKey.values()) {
    const ev = x.event;
    switch (ev.event_type) {
      case EventType.SlotAssigned:
        d.slotAssigned.push({ ...x, event: ev });
        break;
      case EventType.ExcessContent:
        d.excess.push({ ...x, event: ev });
        break;
      case EventType.BatchReady:
        d.ready.push({ ...x, event: ev });
        break;
      case EventType.BatchTimedOut:
        d.timedOut.push({ ...x, event: ev });
        break;
      case EventType.DeadLetter:
        d.deadLetters.push({ ...x, event: ev });
        break;
    }
  }
  return d;
}

/**
 * The id a coordinator derives for the dead letter of this input when it was parked without its source position
 * (`eventIds.orphan`); undefined for a registration, which is never parked.
 */
export function orphanIdOf(ev: InputEvent): string | undefined {
  if (ev.event_type === EventType.BatchRegistered) return undefined;
  return ev.event_type === EventType.ContentProvisioned
    ? eventIds.orphan(ev.data.batch_id, 'content', ev.data.text_storage_id)
    : eventIds.orphan(ev.data.batch_id, 'failure', failureIdentity(ev.data));
}

/**
 * Dead letters of valid inputs given up because their batch was never registered (`unregistered_batch_id`),
 * by the input they stand for: key(batch_id, text_storage_id) for contents, key(batch_id, failure identity)
 * for failures. An input is found by its source message's position, else (parked by a coordinator that kept
 * no position) by the dead letter's derived id, else from its raw copy.
 */
export function orphanDeadLetters(history: readonly HistoryEntry[], out: OutputDigest): Map<string, string[]> {
  const inputKey = (ev: InputEvent | undefined): string | undefined => {
    if (ev === undefined || ev.event_type === EventType.BatchRegistered) return undefined;
    return ev.event_type === EventType.ContentProvisioned
      ? key(ev.data.batch_id, ev.data.text_storage_id)
      : key(ev.data.batch_id, failureIdentity(ev.data));
  };
  const byOffset = new Map<string, InputEvent>();
  const byOrphanId = new Map<string, InputEvent>();
  for (const p of publishedEvents(history)) {
    const ev = p.event;
    if (ev === undefined || p.poison || ev.event_type === EventType.BatchRegistered) continue;
    if (p.partition !== undefined && p.offset !== undefined)
      byOffset.set(key(p.topic, String(p.partition), p.offset), ev);
    byOrphanId.set(orphanIdOf(ev)!, ev);
  }
  const fates = new Map<string, string[]>();
  for (const x of out.deadLetters) {
    const d = x.event.data;
    if (d.unregistered_batch_id === undefined) continue;
    let k =
      inputKey(byOffset.get(key(d.source_topic, String(d.source_partition), d.source_offset))) ??
      inputKey(byOrphanId.get(x.event.event_id));
    if (k === undefined && d.raw_base64 !== undefined) {
      const parsed = InputEvent.safeParse(safeJson(Buffer.from(d.raw_base64, 'base64').toString('utf8')));
      if (parsed.success) k = inputKey(parsed.data);
    }
    push(fates, k ?? key(d.unregistered_batch_id, `?${x.event.event_id}`), x.event.event_id);
  }
  return fates;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

// ---- Postgres ---------------------------------------------------------------

export interface PgDigest {
  batches: Map<string, PgBatch>;
  /** batch_id → its slot rows */
  slots: Map<string, PgSlot[]>;
  /** key(batch_id, text_storage_id) → assigned slot rows holding that content */
  assignedByContent: Map<string, PgSlot[]>;
  /** key(batch_id, failureIdentity) → failed slot rows for that failure (v1: by file name; v2: by upload) */
  failedByIdentity: Map<string, PgSlot[]>;
  /** key(batch_id, text_storage_id) → excess rows */
  excessByContent: Map<string, PgExcess[]>;
  /** key(batch_id, text_storage_id) → pending content rows */
  pendingContent: Map<string, PgPending[]>;
  /** key(batch_id, failureIdentity) → pending validation-failure rows */
  pendingFailures: Map<string, PgPending[]>;
}

export function digestPostgres(final: FinalState): PgDigest {
  const pg = final.postgres;
  const d: PgDigest = {
    batches: new Map(),
    slots: new Map(),
    assignedByContent: new Map(),
    failedByIdentity: new Map(),
    excessByContent: new Map(),
    pendingContent: new Map(),
    pendingFailures: new Map(),
  };
  for (const b of pg.batches) d.batches.set(b.batch_id, b);
  for (const s of pg.slots) {
    push(d.slots, s.batch_id, s);
    if (s.state === 'assigned' && s.text_storage_id !== null)
      push(d.assignedByContent, key(s.batch_id, s.text_storage_id), s);
    if (s.state === 'failed' && s.original_file_name !== null)
      push(d.failedByIdentity, key(s.batch_id, failureIdentity({ ...s, original_file_name: s.original_file_name })), s);
  }
  for (const x of pg.excess) push(d.excessByContent, key(x.batch_id, x.text_storage_id), x);
  for (const p of pg.pending) {
    if (p.text_storage_id !== null) push(d.pendingContent, key(p.batch_id, p.text_storage_id), p);
    else push(d.pendingFailures, key(p.batch_id, failureIdentity(p)), p);
  }
  return d;
}

/** `slot e-1` / `slots e-1 and e-2` — for messages. */
export function slots(essayIds: readonly string[]): string {
  return `${essayIds.length === 1 ? 'slot' : 'slots'} ${list(essayIds)}`;
}

/**
 * On a counterexample read from a Postgres snapshot: when the latest of its rows was settled ({@link EFFECT_AGO_MS}),
 * which made it; nothing when the rows do not say.
 */
export function effectAgo(rows: readonly PgSlot[]): { [EFFECT_AGO_MS]?: number } {
  const agos = rows.flatMap((r) => (typeof r.settled_ms_ago === 'number' ? [r.settled_ms_ago] : []));
  return agos.length === 0 ? {} : { [EFFECT_AGO_MS]: Math.min(...agos) };
}
