/**
 * `no-duplicate-assignment`: the assignment of contents to slots is a partial
 * injection — a content (batch_id, text_storage_id) occupies at most one slot
 * and a slot (batch_id, essay_id) holds at most one content.
 *
 * Two independent witnesses are checked, and then against each other:
 * - the distinct `essay.slot.assigned.v1` events observed (what downstream
 *   consumers were told — once told, it cannot be taken back);
 * - the Postgres slots (the source of truth).
 * Redeliveries (same event id, same data) collapse into one event. A content
 * re-assigned after a crash keeps its derived event id but carries another
 * essay_id, so comparing distinct *data* (not ids) is what catches it.
 *
 * A validation failure settles a slot like a content does, so a failure
 * (batch_id, original_file_name) settling two slots is reported here too.
 *
 * Times: a counterexample from the events carries the `time` of the observe
 * entry that made it — the first delivery of the second distinct claim, or of
 * the claim Postgres contradicts; one from Postgres carries `effect_ago_ms`
 * where its rows say when they settled.
 */
import { digestOutputs, digestPostgres, effectAgo, key, list, push, sortedUnique } from './digest.js';
import { defineChecker, type CheckerInput, type PgSlot, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const NO_DUPLICATE_ASSIGNMENT = 'no-duplicate-assignment';

interface Claim {
  batch_id: string;
  essay_id: string;
  text_storage_id: string;
  event_id: string;
  /** History time of the claim's first delivery. */
  time: number;
}

/** When claims about one content or one slot became two: the first delivery of the second distinct claim. */
function secondClaimTime(cs: readonly Claim[]): number {
  return [...cs].sort((a, b) => a.time - b.time)[1]?.time ?? cs[0]?.time ?? 0;
}

export function checkNoDuplicateAssignment({ history, final, online = false }: CheckerInput): Verdict {
  const v = new VerdictBuilder(NO_DUPLICATE_ASSIGNMENT);
  const out = digestOutputs(history);
  const pg = digestPostgres(final);

  // ---- events: distinct (batch, content, essay) claims
  const claims = new Map<string, Claim>();
  for (const { event, firstTime } of out.slotAssigned) {
    const d = event.data;
    const k = key(d.batch_id, d.text_storage_id, d.essay_id);
    const seen = claims.get(k);
    // One claim can arrive under two payloads (another file name): it dates from its first delivery.
    if (!seen) claims.set(k, { ...d, event_id: event.event_id, time: firstTime });
    else if (firstTime < seen.time) seen.time = firstTime;
  }
  const slotsOfContent = new Map<string, Claim[]>();
  const contentsOfSlot = new Map<string, Claim[]>();
  for (const c of claims.values()) {
    push(slotsOfContent, key(c.batch_id, c.text_storage_id), c);
    push(contentsOfSlot, key(c.batch_id, c.essay_id), c);
  }
  for (const cs of slotsOfContent.values()) {
    const [c] = cs;
    if (c === undefined || cs.length < 2) continue;
    const essays = cs.map((x) => x.essay_id);
    v.error(`content ${c.text_storage_id} of batch ${c.batch_id} is in slots ${list(essays)} (slot-assigned events)`, {
      source: 'events',
      batch_id: c.batch_id,
      text_storage_id: c.text_storage_id,
      essay_ids: essays,
      event_ids: sortedUnique(cs.map((x) => x.event_id)),
      time: secondClaimTime(cs),
    });
  }
  for (const cs of contentsOfSlot.values()) {
    const [c] = cs;
    if (c === undefined || cs.length < 2) continue;
    const contents = cs.map((x) => x.text_storage_id);
    v.error(`slot ${c.essay_id} of batch ${c.batch_id} holds contents ${list(contents)} (slot-assigned events)`, {
      source: 'events',
      batch_id: c.batch_id,
      essay_id: c.essay_id,
      text_storage_ids: contents,
      event_ids: sortedUnique(cs.map((x) => x.event_id)),
      time: secondClaimTime(cs),
    });
  }

  // ---- Postgres
  const rowsOfSlot = new Map<string, PgSlot[]>();
  for (const s of final.postgres.slots) {
    push(rowsOfSlot, key(s.batch_id, s.essay_id), s);
    if (s.state === 'assigned' && s.text_storage_id === null) {
      v.error(`slot ${s.essay_id} of batch ${s.batch_id} is assigned but holds no content in Postgres`, {
        source: 'postgres',
        batch_id: s.batch_id,
        essay_id: s.essay_id,
      });
    }
  }
  for (const [, rows] of pg.assignedByContent) {
    const essays = sortedUnique(rows.map((r) => r.essay_id));
    const [r] = rows;
    if (r === undefined || essays.length < 2) continue;
    v.error(`content ${r.text_storage_id} of batch ${r.batch_id} is in slots ${list(essays)} in Postgres`, {
      source: 'postgres',
      batch_id: r.batch_id,
      text_storage_id: r.text_storage_id,
      essay_ids: essays,
      ...effectAgo(rows),
    });
  }
  for (const rows of rowsOfSlot.values()) {
    const [r] = rows;
    if (r === undefined || rows.length < 2) continue;
    // A slot table keyed by (batch_id, essay_id) cannot hold two rows for one slot;
    // if the reader returns two, the slot has two settlements.
    const contents = sortedUnique(rows.flatMap((x) => (x.text_storage_id === null ? [] : [x.text_storage_id])));
    v.error(
      contents.length >= 2
        ? `slot ${r.essay_id} of batch ${r.batch_id} holds contents ${list(contents)} in Postgres`
        : `slot ${r.essay_id} of batch ${r.batch_id} has ${rows.length} rows in Postgres (${list(rows.map((x) => x.state))})`,
      { source: 'postgres', batch_id: r.batch_id, essay_id: r.essay_id, rows },
    );
  }
  for (const rows of pg.failedByIdentity.values()) {
    const essays = sortedUnique(rows.map((r) => r.essay_id));
    const [r] = rows;
    if (r === undefined || essays.length < 2) continue;
    v.error(
      `validation failure ${r.original_file_name}${r.upload_id ? ` (upload ${r.upload_id})` : ''} of batch ${r.batch_id} settled slots ${list(essays)} in Postgres`,
      {
        source: 'postgres',
        batch_id: r.batch_id,
        original_file_name: r.original_file_name,
        essay_ids: essays,
      },
    );
  }

  // ---- events vs Postgres: every claim made to the outside world must be what Postgres holds (at the end only:
  // online, the snapshot and the history are of different moments)
  for (const c of online ? [] : claims.values()) {
    const pgEssays = sortedUnique(
      (pg.assignedByContent.get(key(c.batch_id, c.text_storage_id)) ?? []).map((s) => s.essay_id),
    );
    const slotRows = rowsOfSlot.get(key(c.batch_id, c.essay_id)) ?? [];
    const data = {
      source: 'events-vs-postgres',
      batch_id: c.batch_id,
      text_storage_id: c.text_storage_id,
      essay_id: c.essay_id,
      event_id: c.event_id,
      time: c.time,
    };
    if (pgEssays.length > 0 && !pgEssays.includes(c.essay_id)) {
      v.error(
        `content ${c.text_storage_id} of batch ${c.batch_id} is in slot ${c.essay_id} per a slot-assigned event but in slot ${list(pgEssays)} in Postgres`,
        { ...data, postgres_essay_ids: pgEssays },
      );
      continue;
    }
    // (A slot with several rows, one of them matching, was already reported above.)
    const holds = slotRows.some((s) => s.state === 'assigned' && s.text_storage_id === c.text_storage_id);
    const other = slotRows.find(
      (s) => s.state === 'assigned' && s.text_storage_id !== null && s.text_storage_id !== c.text_storage_id,
    );
    if (!holds && other !== undefined) {
      v.error(
        `slot ${c.essay_id} of batch ${c.batch_id} holds content ${c.text_storage_id} per a slot-assigned event but ${other.text_storage_id} in Postgres`,
        { ...data, postgres_text_storage_id: other.text_storage_id },
      );
      continue;
    }
    if (pgEssays.length === 0) {
      const state = slotRows[0]?.state ?? 'missing';
      v.error(
        `a slot-assigned event puts content ${c.text_storage_id} of batch ${c.batch_id} in slot ${c.essay_id} but Postgres has no such assignment (slot ${c.essay_id} is ${state})`,
        { ...data, postgres_slot_state: state },
      );
    }
  }

  v.stat('batches', pg.batches.size);
  v.stat('pgAssignments', final.postgres.slots.filter((s) => s.state === 'assigned').length);
  v.stat('pgFailedSlots', final.postgres.slots.filter((s) => s.state === 'failed').length);
  v.stat('assignmentEvents', claims.size);
  v.stat(
    'slotAssignedDeliveries',
    out.slotAssigned.reduce((n, x) => n + x.deliveries, 0),
  );
  v.stat(
    'slotAssignedRedeliveries',
    out.slotAssigned.reduce((n, x) => n + x.deliveries - 1, 0),
  );
  return v.build();
}

// Online too: two distinct claims in the events, or two slots of one content in any committed Postgres state.
export const noDuplicateAssignment = defineChecker(NO_DUPLICATE_ASSIGNMENT, checkNoDuplicateAssignment, {
  online: true,
  description: 'a content occupies at most one slot and a slot holds at most one content (events and Postgres)',
});
