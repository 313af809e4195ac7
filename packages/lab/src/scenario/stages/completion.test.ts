import { describe, expect, it } from 'vitest';
import { EventType, topics as topicNames, type OutputEvent } from '@chaos-lab/contracts';
import { HistoryRecorder, planAssignmentWorkload } from '@chaos-lab/model';
import { CompletionTracker } from './completion.js';

const plan = planAssignmentWorkload(1, {
  batches: 2,
  slotsPerBatch: 2,
  partitions: 3,
  idPrefix: 's1',
  topics: topicNames('lab.'),
});

function outputsFor(): OutputEvent[] {
  const out: OutputEvent[] = [];
  for (const p of plan.publishes) {
    if (p.event?.event_type === EventType.ContentProvisioned)
      out.push({
        event_type: EventType.SlotAssigned,
        data: { batch_id: p.event.data.batch_id, text_storage_id: p.event.data.text_storage_id },
      } as unknown as OutputEvent);
    if (p.event?.event_type === EventType.BatchRegistered)
      out.push({ event_type: EventType.BatchReady, data: { batch_id: p.key } } as unknown as OutputEvent);
  }
  return out;
}

describe('observe stage: completion tracking', () => {
  it('is done once every registered batch finished and every content settled', () => {
    let now = 10;
    const t = new CompletionTracker(plan, () => now);
    expect(t.registered.size).toBeGreaterThan(0);
    expect(t.contentKeys.size).toBeGreaterThan(0);
    expect(t.done()).toBe(false);
    const outs = outputsFor();
    for (const e of outs.slice(0, -1)) t.onEvent(e);
    expect(t.done()).toBe(false);
    now = 42;
    for (const e of outs) t.onEvent(e);
    expect(t.done()).toBe(true);
    expect(t.count).toBe(t.finished.size + t.settled.size);
    expect(t.settled.size).toBe(t.contentKeys.size);
  });

  it('counts a content once, however often it settles, and remembers when the last one did', () => {
    let now = 5;
    const t = new CompletionTracker(plan, () => now);
    const e = outputsFor().find((o) => o.event_type === EventType.SlotAssigned)!;
    t.onEvent(e);
    now = 9;
    t.onEvent(e);
    expect(t.settled.size).toBe(1);
    expect(t.lastSettledAt).toBe(5);
  });

  it('stops waiting for what the inputs cannot produce (nothing definitely delivered)', () => {
    const t = new CompletionTracker(plan);
    const before = t.registered.size + t.contentKeys.size;
    expect(t.narrow(new HistoryRecorder().entries)).toBe(before);
    expect(t.done()).toBe(true);
  });

  it('says how far it is', () => {
    const t = new CompletionTracker(plan);
    t.sent = 3;
    expect(t.line(7)).toBe(
      `lab: published 3/${plan.publishes.length}, settled 0/${t.contentKeys.size} contents, finished 0/${t.registered.size} batches, 7 outputs`,
    );
  });
});
