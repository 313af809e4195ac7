/**
 * `every-batch-finished`: liveness, checked after the run has quiesced.
 *
 * Safety checkers cannot see a pipeline that simply stopped: a batch that
 * never closes violates nothing they look at. So every batch whose
 * registration was definitely delivered (publish `ok`) — or possibly delivered
 * (`info`) and visibly processed (in Postgres or announced) — must have been
 * announced closed (a `batch.ready` or `batch.timed_out` event) and have a
 * Postgres status other than `open`.
 *
 * Only a closable batch must finish: one with a deadline (which the workload
 * lets pass before the final read), or one whose definitely delivered
 * (`ok`) distinct contents and validation failures are enough to fill its
 * slots. A batch left short because some of its inputs were indeterminate
 * (`info`: a publish that failed, or one the broker acknowledged and lost)
 * cannot be asked to finish. A batch that shows any sign of having closed
 * (announced, or not open in Postgres) must show both.
 */
import { EventType } from '@chaos-lab/contracts';
import { publishedEvents, type HistoryEntry } from '../history/history.js';
import { digestOutputs, digestPostgres, list, sortedUnique } from './digest.js';
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const EVERY_BATCH_FINISHED = 'every-batch-finished';

export function checkEveryBatchFinished({ history, final }: CheckerInput): Verdict {
  const v = new VerdictBuilder(EVERY_BATCH_FINISHED);
  const out = digestOutputs(history);
  const pg = digestPostgres(final);

  const closedByEvent = new Map<string, string[]>();
  for (const r of out.ready)
    closedByEvent.set(r.event.data.batch_id, [...(closedByEvent.get(r.event.data.batch_id) ?? []), 'batch.ready']);
  for (const t of out.timedOut)
    closedByEvent.set(t.event.data.batch_id, [...(closedByEvent.get(t.event.data.batch_id) ?? []), 'batch.timed_out']);

  const ok = new Set<string>();
  const maybe = new Set<string>();
  for (const p of publishedEvents(history)) {
    if (p.poison || p.event?.event_type !== EventType.BatchRegistered) continue;
    if (p.outcome === 'ok') ok.add(p.event.data.batch_id);
    else if (p.outcome === 'info') maybe.add(p.event.data.batch_id);
  }
  const closable = closableBatches(history);
  // A batch that left a trace of closing (announced, or not open in Postgres) must have closed on both sides,
  // whatever was delivered to it.
  for (const b of [...ok, ...maybe]) {
    const row = pg.batches.get(b);
    if (closedByEvent.has(b) || (row !== undefined && row.status !== 'open')) closable.add(b);
  }
  const excused = [...ok].filter((b) => !closable.has(b));
  const mustFinish = sortedUnique([
    ...[...ok].filter((b) => closable.has(b)),
    // An indeterminate registration that left a trace was delivered after all.
    ...[...maybe].filter(
      (b) =>
        closable.has(b) &&
        (pg.batches.has(b) || closedByEvent.has(b) || out.slotAssigned.some((x) => x.event.data.batch_id === b)),
    ),
  ]);

  let finished = 0;
  for (const b of mustFinish) {
    const row = pg.batches.get(b);
    const announced = closedByEvent.has(b);
    const pgClosed = row !== undefined && row.status !== 'open';
    if (announced && pgClosed) {
      finished++;
      continue;
    }
    const problems: string[] = [];
    if (!announced) problems.push('no batch.ready or batch.timed_out event was observed');
    if (row === undefined) problems.push('it is not in Postgres');
    else if (row.status === 'open') {
      const free = (pg.slots.get(b) ?? []).filter((s) => s.state === 'free').length;
      problems.push(`its Postgres status is open (${free} of ${row.expected_count} slots free)`);
    }
    v.error(`batch ${b} never finished: ${list(problems)}`, {
      batch_id: b,
      registration: ok.has(b) ? 'ok' : 'info',
      announced: sortedUnique(closedByEvent.get(b) ?? []),
      postgres_status: row?.status ?? null,
    });
  }

  v.stat('batchesToFinish', mustFinish.length);
  v.stat('finished', finished);
  v.stat('unfinished', mustFinish.length - finished);
  v.stat('notClosable', excused.length);
  v.stat('infoRegistrationsIgnored', [...maybe].filter((b) => !mustFinish.includes(b)).length);
  return v.build();
}

export const everyBatchFinished = defineChecker(EVERY_BATCH_FINISHED, checkEveryBatchFinished, {
  description: 'every closable batch whose registration was delivered is announced closed and closed in Postgres',
});

/** How long past its deadline a batch may still be open: sweeps run every 500 ms in the lab, relays after. */
export const DEADLINE_SLACK_MS = 3000;

/**
 * The batches the inputs of a history can close: registered with a deadline
 * that has passed by the end of the history, or given enough definitely
 * delivered (`ok`) distinct contents and validation failures to fill every
 * slot. The runner waits for these only. A deadline planned relative to its
 * publish (`meta.deadlineInMs`) counts once the history's last entry is
 * {@link DEADLINE_SLACK_MS} past it; one given absolute (a hand-written
 * event) counts at once, as before. A batch registered with a far deadline
 * and short of an input (the broker lost it, say) must not be expected to
 * close within the run.
 */
export function closableBatches(history: readonly HistoryEntry[]): Set<string> {
  const closable = new Set<string>();
  const end = history.reduce((t, e) => Math.max(t, e.time), 0);
  const slotsOf = new Map<string, number>();
  const delivered = new Map<string, Set<string>>();
  for (const p of publishedEvents(history)) {
    if (p.poison || p.event === undefined) continue;
    const e = p.event;
    if (e.event_type === EventType.BatchRegistered) {
      slotsOf.set(e.data.batch_id, e.data.essay_ids.length);
      const rel = p.meta?.deadlineInMs;
      if (e.data.deadline !== undefined && (typeof rel !== 'number' || p.invokeTime + rel + DEADLINE_SLACK_MS <= end))
        closable.add(e.data.batch_id);
    } else if (p.outcome === 'ok') {
      // A failure is one upload: v2 names it; a v1 event cannot, so each distinct v1 event (a redelivery
      // repeats its id) counts as one — two students' `essay.docx` are two failures, whatever v1 can express.
      const input =
        e.event_type === EventType.ContentProvisioned
          ? `content:${e.data.text_storage_id}`
          : e.event_type === EventType.ValidationFailedV2
            ? `failure:upload:${e.data.upload_id}`
            : `failure:event:${e.event_id}`;
      const set = delivered.get(e.data.batch_id) ?? new Set<string>();
      delivered.set(e.data.batch_id, set.add(input));
    }
  }
  for (const [b, slots] of slotsOf) if ((delivered.get(b)?.size ?? 0) >= slots) closable.add(b);
  return closable;
}
