/**
 * `one-ready-per-batch`: a batch is closed exactly once.
 *
 * Per batch: at most one distinct `batch.ready.v1` event id, at most one
 * distinct `batch.timed_out.v1` event id, and never both. Ids are
 * deterministic, so seeing the same ready id twice is a redelivery (fine),
 * while two ids — or one id carrying two different payloads — mean the batch
 * was closed twice.
 *
 * The closing event must also tell the truth: its essays, validation failures
 * (and, for a timeout, missing essays) equal the slots Postgres holds for the
 * batch, and Postgres' status is `ready` iff a ready event was observed (same
 * for `timed_out`). A ready batch with free slots in Postgres is reported too,
 * and so is an open batch with none: the store closes a batch in the
 * transaction that settles its last slot, so no committed state has one.
 *
 * Online: the closing events once-only, and the two Postgres states no
 * commit may leave; not the events against Postgres.
 *
 * Times: a counterexample about the closing events carries the `time` of the
 * first delivery that made it (the second distinct closing event, the second
 * payload of one id, the event that disagrees with Postgres); one about
 * Postgres alone carries `effect_ago_ms` where its rows say.
 */
import type { BatchReady, BatchTimedOut } from '@chaos-lab/contracts';
import {
  digestOutputs,
  digestPostgres,
  effectAgo,
  list,
  push,
  slots,
  sortedUnique,
  type DistinctEvent,
} from './digest.js';
import { defineChecker, type CheckerInput, type PgSlot, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const ONE_READY_PER_BATCH = 'one-ready-per-batch';

const NOT_LISTED = 'not listed';
const FREE = 'free';

type Closing = DistinctEvent<BatchReady> | DistinctEvent<BatchTimedOut>;

/** The first delivery of the second of these events: when there were two. */
function secondTime(evs: readonly Closing[]): number {
  return [...evs].sort((a, b) => a.firstTime - b.firstTime)[1]?.firstTime ?? evs[0]?.firstTime ?? 0;
}

const firstTimeOf = (evs: readonly Closing[]): number => Math.min(...evs.map((e) => e.firstTime));

function contentOf(tsid: string, fname: string | null): string {
  return `content ${tsid} (${fname ?? 'no file name'})`;
}

/** essay_id → what the closing event says about it. */
function eventSettlements(ev: BatchReady | BatchTimedOut): Map<string, string> {
  const m = new Map<string, string>();
  const set = (essay: string, what: string) => {
    const prev = m.get(essay);
    m.set(essay, prev === undefined ? what : `${prev} and ${what}`);
  };
  for (const e of ev.data.essays) set(e.essay_id, contentOf(e.text_storage_id, e.original_file_name));
  for (const f of ev.data.validation_failures) set(f.essay_id, `failure ${f.original_file_name}`);
  if ('missing_essay_ids' in ev.data) for (const id of ev.data.missing_essay_ids) set(id, FREE);
  return m;
}

/** essay_id → what Postgres says about it. */
function pgSettlements(slots: readonly PgSlot[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of slots) {
    const what =
      s.state === 'assigned'
        ? contentOf(s.text_storage_id ?? 'null', s.original_file_name)
        : s.state === 'failed'
          ? `failure ${s.original_file_name ?? 'null'}`
          : FREE;
    const prev = m.get(s.essay_id);
    m.set(s.essay_id, prev === undefined ? what : `${prev} and ${what}`);
  }
  return m;
}

export function checkOneReadyPerBatch({ history, final, online = false }: CheckerInput): Verdict {
  const v = new VerdictBuilder(ONE_READY_PER_BATCH);
  const out = digestOutputs(history);
  const pg = digestPostgres(final);

  const readyByBatch = new Map<string, DistinctEvent<BatchReady>[]>();
  const timedOutByBatch = new Map<string, DistinctEvent<BatchTimedOut>[]>();
  for (const r of out.ready) push(readyByBatch, r.event.data.batch_id, r);
  for (const t of out.timedOut) push(timedOutByBatch, t.event.data.batch_id, t);
  const batchIds = sortedUnique([...pg.batches.keys(), ...readyByBatch.keys(), ...timedOutByBatch.keys()]);

  let readyBatches = 0;
  let timedOutBatches = 0;
  for (const b of batchIds) {
    const readies = readyByBatch.get(b) ?? [];
    const timeouts = timedOutByBatch.get(b) ?? [];
    const readyIds = sortedUnique(readies.map((r) => r.event.event_id));
    const timeoutIds = sortedUnique(timeouts.map((t) => t.event.event_id));
    if (readyIds.length > 0) readyBatches++;
    if (timeoutIds.length > 0) timedOutBatches++;

    // ---- exactly once
    if (readyIds.length > 1)
      v.error(`batch ${b} has ${readyIds.length} distinct batch.ready events (${list(readyIds)})`, {
        batch_id: b,
        event_ids: readyIds,
        time: secondTime(readyIds.map((id) => readies.find((r) => r.event.event_id === id)!)),
      });
    if (timeoutIds.length > 1)
      v.error(`batch ${b} has ${timeoutIds.length} distinct batch.timed_out events (${list(timeoutIds)})`, {
        batch_id: b,
        event_ids: timeoutIds,
        time: secondTime(timeoutIds.map((id) => timeouts.find((t) => t.event.event_id === id)!)),
      });
    for (const [kind, ids, evs] of [
      ['batch.ready', readyIds, readies],
      ['batch.timed_out', timeoutIds, timeouts],
    ] as const) {
      for (const id of ids) {
        const same = (evs as readonly Closing[]).filter((x) => x.event.event_id === id);
        const variants = same.length;
        if (variants > 1)
          v.error(`${kind} event ${id} of batch ${b} was delivered with ${variants} different payloads`, {
            batch_id: b,
            event_id: id,
            time: secondTime(same),
          });
      }
    }
    if (readyIds.length > 0 && timeoutIds.length > 0)
      v.error(`batch ${b} is both ready (${list(readyIds)}) and timed out (${list(timeoutIds)})`, {
        batch_id: b,
        ready_event_ids: readyIds,
        timed_out_event_ids: timeoutIds,
        // Both kinds seen: from the first delivery of the kind that came second.
        time: Math.max(firstTimeOf(readies), firstTimeOf(timeouts)),
      });

    // ---- status agrees with what was announced
    const row = pg.batches.get(b);
    const batchSlots = pg.slots.get(b) ?? [];
    if (row === undefined) {
      if (!online && (readyIds.length > 0 || timeoutIds.length > 0))
        v.error(`batch ${b} was announced ${readyIds.length > 0 ? 'ready' : 'timed out'} but is not in Postgres`, {
          batch_id: b,
          time: firstTimeOf(readyIds.length > 0 ? readies : timeouts),
        });
      continue;
    }
    if (!online && readyIds.length > 0 && row.status !== 'ready')
      v.error(`batch.ready was observed for batch ${b} but its Postgres status is ${row.status}`, {
        batch_id: b,
        status: row.status,
        time: firstTimeOf(readies),
      });
    if (!online && readyIds.length === 0 && row.status === 'ready')
      v.error(`batch ${b} is ready in Postgres but no batch.ready event was observed`, { batch_id: b });
    if (!online && timeoutIds.length > 0 && row.status !== 'timed_out')
      v.error(`batch.timed_out was observed for batch ${b} but its Postgres status is ${row.status}`, {
        batch_id: b,
        status: row.status,
        time: firstTimeOf(timeouts),
      });
    if (!online && timeoutIds.length === 0 && row.status === 'timed_out')
      v.error(`batch ${b} is timed_out in Postgres but no batch.timed_out event was observed`, { batch_id: b });
    if (row.status === 'ready') {
      const free = batchSlots.filter((s) => s.state === 'free').map((s) => s.essay_id);
      if (free.length > 0)
        v.error(`batch ${b} is ready but ${slots(free)} ${free.length === 1 ? 'is' : 'are'} still free in Postgres`, {
          batch_id: b,
          free_essay_ids: free,
        });
    }
    if (row.status === 'open' && batchSlots.length > 0 && batchSlots.every((s) => s.state !== 'free')) {
      v.error(
        `batch ${b} is open in Postgres with none of its ${batchSlots.length} slots free: the transaction that settled its last slot did not close it`,
        { batch_id: b, slots: batchSlots.length, ...effectAgo(batchSlots) },
      );
    }
    if (online) continue;

    // ---- the announcement matches Postgres slot by slot
    const truth = pgSettlements(batchSlots);
    for (const c of [...readies, ...timeouts] as Closing[]) {
      const isReady = !('missing_essay_ids' in c.event.data);
      const kind = isReady ? 'batch.ready' : 'batch.timed_out';
      const said = eventSettlements(c.event);
      const diffs: { essay_id: string; event: string; postgres: string }[] = [];
      for (const essay of sortedUnique([...said.keys(), ...truth.keys()])) {
        let inEvent = said.get(essay) ?? NOT_LISTED;
        const inPg = truth.get(essay) ?? 'no slot';
        // A ready event lists settled slots only; an unlisted essay means "free".
        if (isReady && inEvent === NOT_LISTED) inEvent = FREE;
        if (inEvent !== inPg) diffs.push({ essay_id: essay, event: inEvent, postgres: inPg });
      }
      const [d] = diffs;
      if (d === undefined) continue;
      const more = diffs.length > 1 ? ` (${diffs.length - 1} more difference${diffs.length > 2 ? 's' : ''})` : '';
      v.error(
        `${kind} of batch ${b} does not match Postgres: essay ${d.essay_id} is ${d.event} in the event but ${d.postgres} in Postgres${more}`,
        {
          batch_id: b,
          event_id: c.event.event_id,
          differences: diffs.slice(0, 10),
          differenceCount: diffs.length,
          time: c.firstTime,
        },
      );
    }
  }

  v.stat('batches', batchIds.length);
  v.stat('readyBatches', readyBatches);
  v.stat('timedOutBatches', timedOutBatches);
  v.stat(
    'readyDeliveries',
    out.ready.reduce((n, x) => n + x.deliveries, 0),
  );
  v.stat(
    'timedOutDeliveries',
    out.timedOut.reduce((n, x) => n + x.deliveries, 0),
  );
  v.stat(
    'closingRedeliveries',
    [...out.ready, ...out.timedOut].reduce((n, x) => n + x.deliveries - 1, 0),
  );
  return v.build();
}

export const oneReadyPerBatch = defineChecker(ONE_READY_PER_BATCH, checkOneReadyPerBatch, {
  online: true,
  description: "a batch is closed exactly once, and its closing event matches Postgres' slots",
});
