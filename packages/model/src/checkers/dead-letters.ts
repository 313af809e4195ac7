/**
 * `dead-letters`: invalid input is quarantined exactly once per stored copy (a dead letter's id is its
 * source offset's; a publish the broker stored twice, after a producer retry, is two messages), valid input never.
 *
 * The workload marks deliberately contract-breaking messages with
 * `meta.poison = true`. Each one whose publish was `ok` must be referenced by
 * exactly one distinct dead-letter event (`info`: at most one; `fail`: none).
 * No message without the poison mark may be dead-lettered — except a valid
 * input of a batch never registered, given up after the coordinator's parking
 * TTL (`unregistered_batch_id` names its batch; `nothing-lost` judges when) — and every dead
 * letter must reference some published message — the lab is the only
 * producer, so an unexplained dead letter is a coordinator bug.
 *
 * A dead letter references its source by (topic, partition, offset), which is
 * matched against the broker's acknowledgement recorded on the completion;
 * when a completion carries no offset (e.g. an `info` publish), it falls back
 * to comparing the dead letter's `raw` with the message value (truncated to
 * DEAD_LETTER_RAW_LIMIT characters, as the contract says).
 *
 * Times: a counterexample about a dead letter that should not be carries the
 * `time` of that dead letter's first delivery; a poison message never
 * dead-lettered has none (it is judged at the end).
 */
import { DEAD_LETTER_RAW_LIMIT, deadLetterText, EventType, type DeadLetter } from '@chaos-lab/contracts';
import { messageBytes, messageValue, publishedEvents, type PublishedEvent } from '../history/history.js';
import { digestOutputs, key, orphanIdOf, push, sortedUnique } from './digest.js';
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const DEAD_LETTERS = 'dead-letters';

/** Whether a dead letter's copy of the value is the published one's: exact bytes when it has them, else text. */
function rawMatches(dl: DeadLetter['data'], p: PublishedEvent): boolean {
  const bytes = messageBytes(p);
  if (dl.raw_base64 !== undefined) return dl.raw_base64 === bytes.subarray(0, DEAD_LETTER_RAW_LIMIT).toString('base64');
  const value = messageValue(p);
  return (
    dl.raw === deadLetterText(bytes) ||
    dl.raw === value ||
    (value.length > DEAD_LETTER_RAW_LIMIT && dl.raw === value.slice(0, DEAD_LETTER_RAW_LIMIT))
  );
}

function describe(p: PublishedEvent): string {
  const ev = p.event;
  if (p.poison || ev === undefined) {
    const value = messageValue(p);
    const snippet = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    const role = typeof p.meta?.role === 'string' ? `${p.meta.role} ` : '';
    return `poison publish #${p.index} ${role}to ${p.topic} (${JSON.stringify(snippet)}${p.rawBase64 !== undefined ? `, ${messageBytes(p).length} bytes` : ''})`;
  }
  const what =
    'text_storage_id' in ev.data
      ? `content ${ev.data.text_storage_id} of batch ${ev.data.batch_id}`
      : 'reason' in ev.data
        ? `validation failure ${ev.data.original_file_name} of batch ${ev.data.batch_id}`
        : `registration of batch ${ev.data.batch_id}`;
  return `valid publish #${p.index} (${what})`;
}

export function checkDeadLetters({ history, online = false }: CheckerInput): Verdict {
  const v = new VerdictBuilder(DEAD_LETTERS);
  const out = digestOutputs(history);
  const pubs = publishedEvents(history);

  const byOffset = new Map<string, PublishedEvent>();
  for (const p of pubs)
    if (p.partition !== undefined && p.offset !== undefined)
      byOffset.set(key(p.topic, String(p.partition), p.offset), p);

  // One dead letter per distinct id (a same id with another payload is still one quarantine decision).
  const dls = new Map<string, DeadLetter>();
  const firstSeen = new Map<string, number>();
  for (const x of out.deadLetters) {
    if (!dls.has(x.event.event_id)) dls.set(x.event.event_id, x.event);
    firstSeen.set(x.event.event_id, Math.min(firstSeen.get(x.event.event_id) ?? Infinity, x.firstTime));
  }
  /** When the first of these dead letters was delivered. */
  const seenAt = (ids: readonly string[]): { time?: number } => {
    const t = Math.min(...ids.map((id) => firstSeen.get(id) ?? Infinity));
    return Number.isFinite(t) ? { time: t } : {};
  };

  // A dead letter of a parked input whose coordinator kept no source position names it by a derived id.
  const byOrphanId = new Map<string, PublishedEvent>();
  for (const p of pubs) {
    const id = p.event === undefined || p.poison ? undefined : orphanIdOf(p.event);
    if (id !== undefined && !byOrphanId.has(id)) byOrphanId.set(id, p);
  }

  const dlsOf = new Map<number, string[]>(); // publish index → dead letter ids
  let byOffsetCount = 0;
  let byRawCount = 0;
  let byOrphanIdCount = 0;
  for (const dl of dls.values()) {
    const d = dl.data;
    let source = byOffset.get(key(d.source_topic, String(d.source_partition), d.source_offset));
    if (source !== undefined) byOffsetCount++;
    else if (d.unregistered_batch_id !== undefined && (source = byOrphanId.get(dl.event_id)) !== undefined)
      byOrphanIdCount++;
    else if (online)
      continue; // matched by content only at the end, when every publish is recorded
    else {
      // Fallback on content: prefer a poison message, then one not yet matched, then one without a recorded offset
      // (a message whose offset is known would have matched above).
      const candidates = pubs.filter(
        (p) => p.topic === d.source_topic && (p.offset === undefined || p.partition === undefined) && rawMatches(d, p),
      );
      source =
        candidates.find((p) => p.poison && !dlsOf.has(p.index)) ??
        candidates.find((p) => !dlsOf.has(p.index)) ??
        candidates[0];
      if (source !== undefined) byRawCount++;
    }
    if (source === undefined) {
      v.error(
        `dead letter ${dl.event_id} (${d.source_topic}/${d.source_partition}@${d.source_offset}, reason: ${d.reason}) matches no published message`,
        {
          event_id: dl.event_id,
          source_topic: d.source_topic,
          source_partition: d.source_partition,
          source_offset: d.source_offset,
          ...seenAt([dl.event_id]),
        },
      );
      continue;
    }
    push(dlsOf, source.index, dl.event_id);
  }

  let poison = 0;
  let orphans = 0;
  let storedMoreThanOnce = 0;
  for (const p of pubs) {
    const ids = sortedUnique(dlsOf.get(p.index) ?? []);
    const data = { publish_index: p.index, outcome: p.outcome, dead_letter_ids: ids, ...seenAt(ids) };
    if (!p.poison) {
      if (ids.length === 0) continue;
      // Valid input of a batch never registered, given up after the parking TTL: nothing-lost judges that fate.
      const batchId = p.event?.event_type === EventType.BatchRegistered ? undefined : p.event?.data.batch_id;
      if (batchId !== undefined && ids.every((id) => dls.get(id)?.data.unregistered_batch_id === batchId)) {
        orphans++;
        continue;
      }
      const first = dls.get(ids.find((id) => dls.get(id)?.data.unregistered_batch_id !== batchId) ?? ids[0] ?? '');
      v.error(`${describe(p)} was dead-lettered (reason: ${first?.data.reason ?? '?'})`, data);
      continue;
    }
    poison++;
    if (p.outcome === 'fail' && ids.length > 0)
      v.error(`${describe(p)} was dead-lettered though its publish failed (definitely not sent)`, data);
    // Online, its dead letter may still come: that is judged at the end.
    else if (p.outcome === 'ok' && ids.length === 0 && !online) v.error(`${describe(p)} was not dead-lettered`, data);
    // A dead letter's id is its source's (topic, partition, offset): several ids are several stored messages —
    // the broker stored this publish more than once (a producer retry after a lost acknowledgement: fuzz seed 16
    // after a broker went down), and each stored copy is quarantined once, as it must be.
    else if (ids.length > 1) storedMoreThanOnce++;
  }

  v.stat('poisonPublishes', poison);
  v.stat('deadLetters', dls.size);
  v.stat(
    'deadLetterDeliveries',
    out.deadLetters.reduce((n, x) => n + x.deliveries, 0),
  );
  v.stat('matchedByOffset', byOffsetCount);
  v.stat('matchedByRaw', byRawCount);
  v.stat('matchedByOrphanId', byOrphanIdCount);
  v.stat('unregisteredBatchInputs', orphans);
  v.stat('poisonStoredMoreThanOnce', storedMoreThanOnce);
  return v.build();
}

// Online too: a valid input dead-lettered, or a publish that failed yet was dead-lettered, stays so.
export const deadLetters = defineChecker(DEAD_LETTERS, checkDeadLetters, {
  online: true,
  description: 'invalid input is dead-lettered exactly once per stored copy, valid input never',
});
