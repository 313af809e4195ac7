/**
 * `outputs-well-formed`: every observed output is a contract event whose id is
 * the deterministic id derived from what it is about (`eventIds` in the
 * contracts).
 *
 * The other checkers tell a redelivery from a second event by the event id;
 * that is only sound if ids really are derived deterministically. An output
 * that does not parse is a contract violation downstream consumers would
 * choke on. Both are reported here rather than silently skipped.
 */
import { EventType, eventIds, type OutputEvent } from '@chaos-lab/contracts';
import { publishedEvents } from '../history/history.js';
import { digestOutputs, orphanIdOf } from './digest.js';
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const OUTPUTS_WELL_FORMED = 'outputs-well-formed';

function expectedId(ev: OutputEvent): { id: string; about: string } {
  switch (ev.event_type) {
    case EventType.SlotAssigned:
      return {
        id: eventIds.slotAssigned(ev.data.batch_id, ev.data.text_storage_id),
        about: `slot-assigned event of content ${ev.data.text_storage_id} of batch ${ev.data.batch_id}`,
      };
    case EventType.ExcessContent:
      return {
        id: eventIds.excess(ev.data.batch_id, ev.data.text_storage_id),
        about: `excess event of content ${ev.data.text_storage_id} of batch ${ev.data.batch_id}`,
      };
    case EventType.BatchReady:
      return { id: eventIds.batchReady(ev.data.batch_id), about: `batch.ready of batch ${ev.data.batch_id}` };
    case EventType.BatchTimedOut:
      return { id: eventIds.batchTimedOut(ev.data.batch_id), about: `batch.timed_out of batch ${ev.data.batch_id}` };
    case EventType.DeadLetter:
      return {
        id: eventIds.deadLetter(ev.data.source_topic, ev.data.source_partition, ev.data.source_offset),
        about: `dead letter of ${ev.data.source_topic}/${ev.data.source_partition}@${ev.data.source_offset}`,
      };
  }
}

export function checkOutputsWellFormed({ history, online = false }: CheckerInput): Verdict {
  const v = new VerdictBuilder(OUTPUTS_WELL_FORMED);
  const out = digestOutputs(history);
  for (const o of out.unparsed) {
    const raw = o.raw ?? '';
    v.error(
      `output at ${o.topic}/${o.partition}@${o.offset} is not a contract event: ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)}`,
      { topic: o.topic, partition: o.partition, offset: o.offset, time: o.time },
    );
  }
  // A parked input announced without its source position (parked by a coordinator from before migration 6) has
  // an id derived from its batch, kind and key: one of the inputs published for that batch.
  const orphanIds = new Set<string>();
  for (const p of publishedEvents(history)) {
    const id = p.event === undefined ? undefined : orphanIdOf(p.event);
    if (id !== undefined) orphanIds.add(id);
  }
  const all = [...out.slotAssigned, ...out.excess, ...out.ready, ...out.timedOut, ...out.deadLetters];
  for (const { event, firstTime } of all) {
    if (
      event.event_type === EventType.DeadLetter &&
      event.data.unregistered_batch_id !== undefined &&
      event.data.source_partition === -1
    ) {
      // Online, the input it names may not be recorded yet: judged at the end only.
      if (!online && !orphanIds.has(event.event_id))
        v.error(
          `dead letter ${event.event_id} of a parked input of batch ${event.data.unregistered_batch_id} (no source position) has no published input's derived id`,
          { event_id: event.event_id, batch_id: event.data.unregistered_batch_id, time: firstTime },
        );
      continue;
    }
    const { id, about } = expectedId(event);
    if (event.event_id !== id)
      v.error(`${about} has id ${event.event_id}, expected the derived id ${id}`, {
        event_id: event.event_id,
        expected_event_id: id,
        time: firstTime,
      });
  }
  v.stat('deliveries', out.deliveries);
  v.stat('distinctEvents', all.length);
  v.stat('redeliveries', out.redeliveries);
  v.stat('unparsed', out.unparsed.length);
  return v.build();
}

// Online too: an output that does not parse, or whose id is not its derived id, stays so.
export const outputsWellFormed = defineChecker(OUTPUTS_WELL_FORMED, checkOutputsWellFormed, {
  online: true,
  description: 'every output is a contract event carrying the id derived from what it is about',
});
