/**
 * `outputs-have-causes`: no output comes before what caused it. A slot
 * assignment or an excess report of content C in batch B is observed only
 * after a publish of C's provisioning event for B began; a `batch.ready` or
 * `batch.timed_out` of B only after a publish of B's registration began.
 *
 * The other checkers count outputs against inputs; none asks when. An output
 * with no earlier cause is one the coordinator made up, replayed from another
 * run's state (a stale Redis entry, a reused database), or attributed to the
 * wrong batch — and a history whose clock runs backwards. Causes are the
 * publishes' invocations, whatever their outcome: a publish that timed out
 * may still have reached the broker. A cause published as raw bytes counts
 * when its bytes name the batch and the content.
 *
 * Online too: an output already observed without an earlier cause keeps
 * lacking one, since every later invocation comes later.
 */
import { EventType } from '@chaos-lab/contracts';
import { publishedEvents, type HistoryEntry } from '../history/history.js';
import { digestOutputs } from './digest.js';
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const OUTPUTS_HAVE_CAUSES = 'outputs-have-causes';

/** The earliest invocation time of each cause: `registered:<batch>` and `content:<batch>/<content>`. */
function causeTimes(history: readonly HistoryEntry[]): {
  first: Map<string, number>;
  raw: { time: number; text: string }[];
} {
  const first = new Map<string, number>();
  const raw: { time: number; text: string }[] = [];
  const note = (key: string, time: number) => {
    const t = first.get(key);
    if (t === undefined || time < t) first.set(key, time);
  };
  for (const p of publishedEvents(history)) {
    const e = p.event;
    if (e?.event_type === EventType.BatchRegistered) note(`registered:${e.data.batch_id}`, p.invokeTime);
    else if (e?.event_type === EventType.ContentProvisioned)
      note(`content:${e.data.batch_id}/${e.data.text_storage_id}`, p.invokeTime);
    else if (e === undefined && p.raw !== undefined) raw.push({ time: p.invokeTime, text: p.raw });
  }
  return { first, raw };
}

export function checkOutputsHaveCauses({ history }: CheckerInput): Verdict {
  const v = new VerdictBuilder(OUTPUTS_HAVE_CAUSES);
  const { first, raw } = causeTimes(history);
  const out = digestOutputs(history);
  const judge = (what: string, key: string, names: readonly string[], observedAt: number, data: object) => {
    const at = first.get(key) ?? raw.find((r) => r.time <= observedAt && names.every((n) => r.text.includes(n)))?.time;
    if (at !== undefined && at <= observedAt) {
      v.add('withCause');
      return;
    }
    v.error(
      at === undefined
        ? `${what} observed at ${observedAt} ms, but its cause was never published`
        : `${what} observed at ${observedAt} ms, before its cause was published (${at} ms)`,
      { ...data, observed_ms: observedAt, cause_ms: at ?? null, time: observedAt },
    );
  };
  for (const { event, firstTime } of [...out.slotAssigned, ...out.excess]) {
    const { batch_id, text_storage_id } = event.data;
    const kind = event.event_type === EventType.SlotAssigned ? 'slot assignment' : 'excess report';
    judge(
      `${kind} of content ${text_storage_id} in batch ${batch_id}`,
      `content:${batch_id}/${text_storage_id}`,
      [batch_id, text_storage_id],
      firstTime,
      { event_id: event.event_id, batch_id, text_storage_id },
    );
  }
  for (const { event, firstTime } of [...out.ready, ...out.timedOut]) {
    const { batch_id } = event.data;
    const kind = event.event_type === EventType.BatchReady ? 'batch.ready' : 'batch.timed_out';
    judge(`${kind} of batch ${batch_id}`, `registered:${batch_id}`, [batch_id], firstTime, {
      event_id: event.event_id,
      batch_id,
    });
  }
  v.stat('withCause', v.stats.withCause ?? 0);
  return v.build();
}

export const outputsHaveCauses = defineChecker(OUTPUTS_HAVE_CAUSES, checkOutputsHaveCauses, {
  online: true,
  description: 'no output is observed before the publish of the input that caused it',
});
