/**
 * `nothing-lost`: every input that was definitely delivered has exactly one
 * durable, announced fate — and nothing that was definitely NOT delivered,
 * or never published at all, shows up anywhere.
 *
 * The publish outcome decides what may be concluded (Jepsen's rule for
 * indeterminate operations):
 * - `ok`   the input reached Kafka, so it must be accounted for;
 * - `info` it may or may not have reached Kafka: absence proves nothing, but
 *          if it left any trace, it must obey the same rules as `ok`;
 * - `fail` it definitely did not reach Kafka: any trace of it is a violation
 *          (of the coordinator or of the workload's outcome classification).
 * Several publishes of the same input (the workload may repeat inputs to test
 * idempotency) count as one input with the most certain delivery.
 *
 * Fates, per input:
 * - registration: the batch is in Postgres with one slot per essay id;
 * - content of a registered batch: assigned to a slot XOR recorded as excess
 *   in Postgres, AND announced by the matching output event (slot-assigned /
 *   excess, with the same reason); never left pending;
 * - content of a batch never registered: parked in `pending`; once parked
 *   longer than the coordinator's TTL ({@link PARKED_TTL_MS} in the lab) and
 *   {@link PARKED_SLACK_MS}, by Postgres' clock at the final read, announced
 *   by exactly one dead letter with `unregistered_batch_id` (still parked for
 *   ever with no event is the bug this finds). The input stays parked, so a
 *   content of a batch registered late may carry that one dead letter too,
 *   and must still have its fate;
 * - validation failure: a failed slot with that file name, unless the batch
 *   was full or closed (then it is dropped — judged from the final state, so
 *   a failure lost while the batch still had free slots is only caught if the
 *   batch still has free slots at the end); for an unregistered batch, as a content.
 * Traces of contents or failures never published (for batches the workload
 * published about) are reported as phantoms.
 *
 * Times: an input dead-lettered twice carries the `time` of the second dead
 * letter's first delivery; the other counterexamples compare the history with
 * the final read and are judged at the end.
 */
import { EventType, failureIdentity } from '@chaos-lab/contracts';
import { publishedEvents, type HistoryEntry, type OpOutcome, type PublishedEvent } from '../history/history.js';
import { digestOutputs, digestPostgres, key, list, orphanDeadLetters, push, slots, sortedUnique } from './digest.js';
import { defineChecker, type CheckerInput, type PgPending, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const NOTHING_LOST = 'nothing-lost';

/**
 * The parking TTL the lab gives its coordinators (`COORDINATOR_PARKED_TTL_MS`): longer than any registration
 * delayed by the lab's faults behind its contents (a paced workload and a fault window of seconds), so that
 * only inputs of batches never registered are given up.
 */
export const PARKED_TTL_MS = 15_000;
/** After its TTL, a parked input must be dead-lettered within this: sweeps (0.5 s in the lab), relay, observer. */
export const PARKED_SLACK_MS = 5_000;

const CAP: Record<OpOutcome, string> = { ok: 'Ok', info: 'Info', fail: 'Fail' };
const CERTAINTY: Record<OpOutcome, number> = { ok: 2, info: 1, fail: 0 };
function mostCertain(ps: readonly PublishedEvent[]): OpOutcome {
  let best: OpOutcome = 'fail';
  for (const p of ps) if (CERTAINTY[p.outcome] > CERTAINTY[best]) best = p.outcome;
  return best;
}

interface Input {
  batch_id: string;
  /** text_storage_id for contents; for failures their identity (file name for v1, `upload:<id>` for v2). */
  id: string;
  fileNames: string[];
  publishes: PublishedEvent[];
}

/** The first delivery (`ok` completion) of each input of a batch never registered, by key(batch, input id). */
function unregisteredInputsSince(history: readonly HistoryEntry[]): Map<string, number> {
  const registeredBatches = new Set<string>();
  const since = new Map<string, number>();
  const pubs = publishedEvents(history);
  for (const p of pubs)
    if (p.event?.event_type === EventType.BatchRegistered && !p.poison) registeredBatches.add(p.event.data.batch_id);
  for (const p of pubs) {
    const ev = p.event;
    if (ev === undefined || p.poison || ev.event_type === EventType.BatchRegistered) continue;
    if (registeredBatches.has(ev.data.batch_id) || p.outcome !== 'ok' || p.completeTime === undefined) continue;
    const id = ev.event_type === EventType.ContentProvisioned ? ev.data.text_storage_id : failureIdentity(ev.data);
    const k = key(ev.data.batch_id, id);
    since.set(k, Math.min(since.get(k) ?? Infinity, p.completeTime));
  }
  return since;
}

/**
 * When (history time) every input published for a batch the history never registers is past the parking TTL
 * and its slack: from then on each must have been dead-lettered. Undefined when there is none.
 */
export function parkedTtlDue(history: readonly HistoryEntry[]): number | undefined {
  const since = [...unregisteredInputsSince(history).values()];
  return since.length === 0 ? undefined : Math.max(...since) + PARKED_TTL_MS + PARKED_SLACK_MS + 1000;
}

export function checkNothingLost({ history, final }: CheckerInput): Verdict {
  const v = new VerdictBuilder(NOTHING_LOST);
  const out = digestOutputs(history);
  const pg = digestPostgres(final);

  const registrations = new Map<string, PublishedEvent[]>();
  const contents = new Map<string, Input>();
  const failures = new Map<string, Input>();
  const publishedBatches = new Set<string>();
  for (const p of publishedEvents(history)) {
    const ev = p.event;
    if (ev === undefined || p.poison) continue; // poison is the dead-letters checker's business
    publishedBatches.add(ev.data.batch_id);
    if (ev.event_type === EventType.BatchRegistered) push(registrations, ev.data.batch_id, p);
    else {
      const isContent = ev.event_type === EventType.ContentProvisioned;
      const id = isContent ? ev.data.text_storage_id : failureIdentity(ev.data);
      const map = isContent ? contents : failures;
      const k = key(ev.data.batch_id, id);
      let input = map.get(k);
      if (input === undefined) map.set(k, (input = { batch_id: ev.data.batch_id, id, fileNames: [], publishes: [] }));
      input.publishes.push(p);
      if (!input.fileNames.includes(ev.data.original_file_name)) input.fileNames.push(ev.data.original_file_name);
    }
  }

  const registered = (b: string) => pg.batches.has(b) || (registrations.get(b) ?? []).some((p) => p.outcome === 'ok');
  const orphanDls = orphanDeadLetters(history, out);
  const dlSeen = new Map<string, number>();
  for (const x of out.deadLetters)
    dlSeen.set(x.event.event_id, Math.min(dlSeen.get(x.event.event_id) ?? Infinity, x.firstTime));
  /** When the second of an input's dead letters was first delivered: when it became dead-lettered twice. */
  const secondDl = (ids: readonly string[]): { time?: number } => {
    const t = ids.map((id) => dlSeen.get(id) ?? Infinity).sort((a, b) => a - b)[1];
    return t !== undefined && Number.isFinite(t) ? { time: t } : {};
  };
  /**
   * The fate of an input of a batch never registered: parked, and announced by one dead letter once parked
   * past the TTL and its slack; still parked with no event past that is the "parked for ever" bug.
   */
  const unregisteredFate = (
    name: string,
    input: Input,
    k: string,
    pend: PgPending[],
    data: Record<string, unknown>,
  ) => {
    const dls = orphanDls.get(k) ?? [];
    const parkedMs = Math.max(...pend.map((p) => p.parked_ms ?? 0));
    if (dls.length > 1)
      v.error(`${name} was dead-lettered ${dls.length} times as of a batch never registered (${list(dls)})`, {
        ...data,
        ...secondDl(dls),
      });
    else if (pend.length === 0)
      v.error(
        `${name} (publish ${mostCertain(input.publishes)}) is not parked although the batch was never registered${dls.length > 0 ? ` (dead-lettered: ${list(dls)})` : ''}`,
        data,
      );
    else if (dls.length === 1) v.add('orphansAnnounced');
    else if (parkedMs > PARKED_TTL_MS + PARKED_SLACK_MS)
      v.error(
        `${name} has been parked for ${(parkedMs / 1000).toFixed(1)} s (by Postgres' clock) with no dead letter: past the parking TTL of ${PARKED_TTL_MS / 1000} s and ${PARKED_SLACK_MS / 1000} s of slack`,
        { ...data, parked_ms: Math.round(parkedMs) },
      );
    else v.add('orphansParked');
  };
  /** An input of a registered batch may have been announced once while its registration was late; not twice. */
  const announcedOnceAtMost = (name: string, k: string, data: Record<string, unknown>) => {
    const dls = orphanDls.get(k) ?? [];
    if (dls.length === 1) v.add('announcedThenRegistered');
    if (dls.length <= 1) return;
    v.error(`${name} was dead-lettered ${dls.length} times as of a batch never registered (${list(dls)})`, {
      ...data,
      ...secondDl(dls),
    });
  };

  // ---- registrations
  for (const [b, ps] of registrations) {
    const outcome = mostCertain(ps);
    const row = pg.batches.get(b);
    v.add(`registrations${CAP[outcome]}`);
    if (outcome === 'fail') {
      if (row !== undefined)
        v.error(`batch ${b} is in Postgres though its registration publish failed (definitely not sent)`, {
          batch_id: b,
        });
      continue;
    }
    if (row === undefined) {
      if (outcome === 'ok') v.error(`batch ${b} was registered (publish ok) but is not in Postgres`, { batch_id: b });
      continue;
    }
    // Postgres must hold the slots of one of the registrations that may have been delivered.
    const pgEssays = sortedUnique((pg.slots.get(b) ?? []).map((s) => s.essay_id));
    const candidates = ps.filter((p) => p.outcome !== 'fail' && p.event?.event_type === EventType.BatchRegistered);
    const essaySets = candidates.map((p) =>
      p.event?.event_type === EventType.BatchRegistered ? sortedUnique(p.event.data.essay_ids) : [],
    );
    const matches = essaySets.some(
      (ids) =>
        ids.length === pgEssays.length && ids.every((id, i) => id === pgEssays[i]) && row.expected_count === ids.length,
    );
    if (!matches && essaySets[0] !== undefined) {
      const ids = essaySets[0];
      const missing = ids.filter((id) => !pgEssays.includes(id));
      const extra = pgEssays.filter((id) => !ids.includes(id));
      const detail =
        missing.length > 0
          ? `essay ${missing[0]} has no slot in Postgres`
          : extra.length > 0
            ? `Postgres has slot ${extra[0]} which the registration does not list`
            : `Postgres expected_count is ${row.expected_count}, the registration lists ${ids.length} essays`;
      v.error(`batch ${b} in Postgres does not match its registration: ${detail}`, {
        batch_id: b,
        registered_essay_ids: ids,
        postgres_essay_ids: pgEssays,
      });
    }
  }

  // ---- contents
  const evAssigned = new Map<string, string[]>(); // key(b,t) → essay ids announced
  for (const x of out.slotAssigned)
    push(evAssigned, key(x.event.data.batch_id, x.event.data.text_storage_id), x.event.data.essay_id);
  const evExcess = new Map<string, string[]>(); // key(b,t) → reasons announced
  for (const x of out.excess)
    push(evExcess, key(x.event.data.batch_id, x.event.data.text_storage_id), x.event.data.reason);

  for (const [k, c] of contents) {
    const { batch_id: b, id: t } = c;
    const outcome = mostCertain(c.publishes);
    v.add(`contents${CAP[outcome]}`);
    const pgA = sortedUnique((pg.assignedByContent.get(k) ?? []).map((s) => s.essay_id));
    const pgX = sortedUnique((pg.excessByContent.get(k) ?? []).map((x) => x.reason));
    const pend = pg.pendingContent.get(k) ?? [];
    const evA = sortedUnique(evAssigned.get(k) ?? []);
    const evX = sortedUnique(evExcess.get(k) ?? []);
    const where = [
      ...(pgA.length > 0 ? [`assigned to ${slots(pgA)} in Postgres`] : []),
      ...(pgX.length > 0 ? [`excess in Postgres`] : []),
      ...(pend.length > 0 ? [`pending in Postgres`] : []),
      ...(evA.length > 0 ? [`announced by a slot-assigned event`] : []),
      ...(evX.length > 0 ? [`announced by an excess event`] : []),
    ];
    const data = { batch_id: b, text_storage_id: t, outcome, publish_indexes: c.publishes.map((p) => p.index) };
    const name = `content ${t} of batch ${b}`;
    if (outcome === 'fail') {
      if (where.length > 0)
        v.error(`${name} is ${where[0]} though its publish failed (definitely not sent)`, { ...data, where });
      continue;
    }
    if (outcome === 'info' && where.length === 0) {
      v.add('contentsInfoAbsent');
      continue;
    }
    const how = `publish ${outcome}`;
    if (!registered(b)) {
      unregisteredFate(name, c, k, pend, { ...data, where });
      continue;
    }
    announcedOnceAtMost(name, k, data);
    if (pend.length > 0) {
      v.error(`${name} is still pending in Postgres although the batch is registered`, data);
      continue;
    }
    const pgDesc = pgA.length > 0 ? `assigned to ${slots(pgA)}` : `excess (${list(pgX)})`;
    const evDesc = evA.length > 0 ? `assigned to ${slots(evA)}` : `excess (${list(evX)})`;
    if (pgA.length === 0 && pgX.length === 0) {
      v.error(
        `${name} (${how}) is neither assigned nor excess in Postgres${evA.length + evX.length > 0 ? ` though it was announced ${evDesc}` : ''}`,
        data,
      );
    } else if (pgA.length > 0 && pgX.length > 0) {
      v.error(`${name} is both assigned to ${slots(pgA)} and excess in Postgres`, data);
    } else if (evA.length === 0 && evX.length === 0) {
      v.error(`${name} is ${pgDesc} in Postgres but no slot-assigned or excess event was observed`, data);
    } else if (evA.length > 0 && evX.length > 0) {
      v.error(`${name} was announced both assigned to ${slots(evA)} and excess (${list(evX)})`, data);
    } else if (pgA.length > 0 !== evA.length > 0) {
      v.error(`${name} is ${pgDesc} in Postgres but was announced ${evDesc}`, data);
    } else if (pgX.length > 0 && pgX.join() !== evX.join()) {
      v.error(`${name} is excess (${list(pgX)}) in Postgres but the excess event says ${list(evX)}`, data);
    } else {
      // Slot-level agreement between the event and Postgres is no-duplicate-assignment's job.
      v.add(pgA.length > 0 ? 'assigned' : 'excess');
      const pgNames = sortedUnique(
        (pg.assignedByContent.get(k) ?? []).flatMap((s) =>
          s.original_file_name === null ? [] : [s.original_file_name],
        ),
      );
      const [fname] = c.fileNames;
      if (
        c.fileNames.length === 1 &&
        fname !== undefined &&
        pgNames.length > 0 &&
        (pgNames.length > 1 || pgNames[0] !== fname)
      )
        v.error(`${name} was published as ${fname} but has file name ${list(pgNames)} in Postgres`, data);
    }
  }

  // ---- validation failures
  for (const [k, f] of failures) {
    const { batch_id: b, id: fname } = f;
    const outcome = mostCertain(f.publishes);
    v.add(`failures${CAP[outcome]}`);
    const failedSlots = sortedUnique((pg.failedByIdentity.get(k) ?? []).map((s) => s.essay_id));
    const pend = pg.pendingFailures.get(k) ?? [];
    const name = `validation failure ${fname} of batch ${b}`;
    const data = { batch_id: b, original_file_name: fname, outcome, publish_indexes: f.publishes.map((p) => p.index) };
    const present = failedSlots.length > 0 || pend.length > 0;
    if (outcome === 'fail') {
      if (present)
        v.error(
          `${name} ${failedSlots.length > 0 ? `settled ${slots(failedSlots)}` : 'is pending'} in Postgres though its publish failed (definitely not sent)`,
          data,
        );
      continue;
    }
    if (outcome === 'info' && !present) {
      v.add('failuresInfoAbsent');
      continue;
    }
    if (!registered(b)) {
      unregisteredFate(name, f, k, pend, data);
      continue;
    }
    announcedOnceAtMost(name, k, data);
    if (pend.length > 0) {
      v.error(`${name} is still pending in Postgres although the batch is registered`, data);
      continue;
    }
    if (failedSlots.length > 0) {
      v.add('failedSlots');
      continue;
    }
    const row = pg.batches.get(b);
    const free = (pg.slots.get(b) ?? []).filter((s) => s.state === 'free').map((s) => s.essay_id);
    if (row === undefined) v.error(`${name} (publish ${outcome}) settled no slot: the batch is not in Postgres`, data);
    else if (row.status === 'open' && free.length > 0)
      v.error(`${name} (publish ${outcome}) settled no slot although batch ${b} is open with free ${slots(free)}`, {
        ...data,
        free_essay_ids: free,
      });
    else v.add('failuresDropped'); // batch full or closed: dropping it is correct
  }

  // ---- phantoms: traces of inputs never published (only for batches the workload talked about)
  const phantom = (b: string, what: string, where: string) =>
    v.error(`${what} of batch ${b} is ${where} but was never published`, { batch_id: b });
  const seen = new Set<string>();
  const contentTrace = (b: string, t: string, where: string) => {
    const k = key(b, t);
    if (!publishedBatches.has(b) || contents.has(k) || seen.has(k)) return;
    seen.add(k);
    phantom(b, `content ${t}`, where);
  };
  for (const s of final.postgres.slots)
    if (s.state === 'assigned' && s.text_storage_id !== null)
      contentTrace(s.batch_id, s.text_storage_id, `in slot ${s.essay_id} in Postgres`);
  for (const x of final.postgres.excess) contentTrace(x.batch_id, x.text_storage_id, 'excess in Postgres');
  for (const p of final.postgres.pending)
    if (p.text_storage_id !== null) contentTrace(p.batch_id, p.text_storage_id, 'pending in Postgres');
  for (const x of out.slotAssigned)
    contentTrace(x.event.data.batch_id, x.event.data.text_storage_id, `announced in slot ${x.event.data.essay_id}`);
  for (const x of out.excess) contentTrace(x.event.data.batch_id, x.event.data.text_storage_id, 'announced as excess');
  for (const s of final.postgres.slots) {
    if (s.state !== 'failed' || s.original_file_name === null) continue;
    const k = key(s.batch_id, failureIdentity({ ...s, original_file_name: s.original_file_name }));
    if (publishedBatches.has(s.batch_id) && !failures.has(k) && !seen.has(`f${k}`)) {
      seen.add(`f${k}`);
      phantom(s.batch_id, `validation failure ${s.original_file_name}`, `in slot ${s.essay_id} in Postgres`);
    }
  }

  v.stat('batchesRegistered', registrations.size);
  v.stat('contents', contents.size);
  v.stat('failures', failures.size);
  return v.build();
}

export const nothingLost = defineChecker(NOTHING_LOST, checkNothingLost, {
  description: 'every delivered input has exactly one durable, announced fate; nothing undelivered leaves a trace',
});
