import { EventType, derivedEventId, eventIds } from '@chaos-lab/contracts';
import type { ContentProvisioned, SlotAssigned } from '@chaos-lab/contracts';
import { describe, expect, it } from 'vitest';
import {
  HistoryParseError,
  HistoryRecorder,
  messageValue,
  observedEvents,
  publishedEvents,
  readHistory,
} from './history.js';

const content: ContentProvisioned = {
  event_id: derivedEventId('history-test', '1'),
  event_type: EventType.ContentProvisioned,
  correlation_id: 'c-1',
  occurred_at: '2025-01-01T00:00:00.000Z',
  data: { batch_id: 'b-1', text_storage_id: 't-1', original_file_name: 'a.txt' },
};
const assigned: SlotAssigned = {
  event_id: eventIds.slotAssigned('b-1', 't-1'),
  event_type: EventType.SlotAssigned,
  correlation_id: 'c-1',
  occurred_at: '2025-01-01T00:00:01.000Z',
  data: { batch_id: 'b-1', essay_id: 'e-1', text_storage_id: 't-1', original_file_name: 'a.txt' },
};

/** A clock the test drives; it may even go backwards. */
function fakeClock(...readings: number[]) {
  let i = 0;
  return () => readings[Math.min(i++, readings.length - 1)] ?? 0;
}

function recorded(): HistoryRecorder {
  const h = new HistoryRecorder({ now: fakeClock(1000, 1001.5, 1003, 1002, 1010, 1011, 1012, 1013) });
  const a = h.invoke('client-0', { topic: 'essay.content.provisioned', event: content, key: 'b-1' });
  const b = h.invoke('client-1', { topic: 'essay.content.provisioned', raw: '{oops', meta: { poison: true } });
  h.complete(a, 'ok', { partition: 0, offset: '42' }); // clock went back: time stays monotonic
  h.nemesis('start', 'partition', { target: 'kafka', detail: { halves: [['n1'], ['n2']] } });
  h.observe({ topic: 'essay.slot.assigned', partition: 1, offset: '7', event: assigned });
  h.complete(b, 'info', { error: 'request timed out' });
  h.invoke('client-0', { topic: 'batch.registered', raw: 'never completed' });
  return h;
}

describe('HistoryRecorder', () => {
  it('records entries with monotonic times relative to the start, paired by index', () => {
    const h = recorded();
    expect(h.entries.map((e) => [e.type, e.time])).toEqual([
      ['invoke', 1.5],
      ['invoke', 3],
      ['ok', 3],
      ['nemesis', 10],
      ['observe', 11],
      ['info', 12],
      ['invoke', 13],
    ]);
    expect(h.entries[2]).toEqual({
      type: 'ok',
      f: 'publish',
      process: 'client-0',
      index: 0,
      time: 3,
      partition: 0,
      offset: '42',
    });
  });

  it('uses performance.now by default', () => {
    const h = new HistoryRecorder();
    h.nemesis('start', 'kill');
    h.nemesis('end', 'kill');
    const [a, b] = h.entries;
    expect(a!.time).toBeGreaterThanOrEqual(0);
    expect(b!.time).toBeGreaterThanOrEqual(a!.time);
  });

  it('refuses to complete an unknown or already completed publish', () => {
    const h = new HistoryRecorder();
    const i = h.invoke('p', { topic: 't', raw: 'x' });
    h.complete(i, 'fail');
    expect(() => h.complete(i, 'ok')).toThrow('publish 0 was already completed');
    expect(() => h.complete(9, 'ok')).toThrow('publish 9 was never invoked');
  });

  it('stores an output that parses as a contract event parsed, anything else raw', () => {
    const h = new HistoryRecorder();
    h.observeMessage({ topic: 's', partition: 0, offset: '1', value: Buffer.from(JSON.stringify(assigned)) });
    h.observeMessage({ topic: 's', partition: 0, offset: '2', value: '{"event_type":"essay.slot.assigned.v1"}' });
    h.observeMessage({ topic: 's', partition: 0, offset: '3', value: null });
    expect(h.entries.map((e) => (e.type === 'observe' ? [e.event?.event_id, e.raw] : null))).toEqual([
      [assigned.event_id, undefined],
      [undefined, '{"event_type":"essay.slot.assigned.v1"}'],
      [undefined, ''],
    ]);
    expect(observedEvents(h.entries)).toHaveLength(1);
  });
});

describe('JSONL', () => {
  it('round-trips through toJSONL and readHistory', () => {
    const h = recorded();
    const text = h.toJSONL();
    expect(text.split('\n')).toHaveLength(8); // 7 lines + trailing newline
    expect(readHistory(text)).toEqual(h.entries);
  });

  it('names the line of a bad entry', () => {
    const lines = recorded().toJSONL().split('\n');
    const notJson = [...lines];
    notJson[2] = '{"type": "ok",';
    expect(() => readHistory(notJson.join('\n'))).toThrow(/^history line 3: not JSON/);

    const badShape = [...lines];
    badShape[1] = JSON.stringify({ type: 'invoke', f: 'publish', process: 'p', index: 1, time: 2 });
    const err = (() => {
      try {
        readHistory(badShape.join('\n'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(HistoryParseError);
    expect((err as HistoryParseError).line).toBe(2);
    expect((err as HistoryParseError).message).toMatch(/^history line 2: topic: /);

    const badEvent = [...lines];
    badEvent[0] = badEvent[0]!.replace('"batch_id":"b-1"', '"batch_id":"b 1"');
    expect(() => readHistory(badEvent.join('\n'))).toThrow(/^history line 1: event\.data\.batch_id: may only contain/);

    expect(() => readHistory(JSON.stringify({ type: 'weird', time: 1 }))).toThrow(
      /^history line 1: type: Invalid discriminator/,
    );
  });

  it('rejects a broken pairing discipline', () => {
    const lines = recorded().toJSONL().split('\n');
    expect(() => readHistory([lines[2], lines[0]].join('\n'))).toThrow(
      'history line 1: completion of index 0 before its invoke',
    );
    expect(() => readHistory([lines[0], lines[2], lines[2]].join('\n'))).toThrow(
      'history line 3: index 0 completed twice',
    );
    expect(() => readHistory([lines[0], '', lines[0]].join('\n'))).toThrow('history line 3: index 0 invoked twice');
  });
});

describe('instance entries', () => {
  it('records what happened to an instance, keeping `at` only when it is not after the entry', () => {
    const h = new HistoryRecorder({ now: fakeClock(0, 100, 250, 400, 900) });
    h.instance('coordinator-1', 'running', { pid: 41 });
    h.instance('coordinator-1', 'joined', { at: 180, detail: { partitions: 6 } });
    h.instance('coordinator-2', 'joined', { at: 500 }); // later than the entry: a skewed clock, not kept
    h.instance('coordinator-2', 'exited', { pid: 42, detail: { code: null, signal: 'SIGKILL' } });
    expect(h.entries).toEqual([
      { type: 'instance', time: 100, instance: 'coordinator-1', event: 'running', pid: 41 },
      { type: 'instance', time: 250, instance: 'coordinator-1', event: 'joined', at: 180, detail: { partitions: 6 } },
      { type: 'instance', time: 400, instance: 'coordinator-2', event: 'joined' },
      {
        type: 'instance',
        time: 900,
        instance: 'coordinator-2',
        event: 'exited',
        pid: 42,
        detail: { code: null, signal: 'SIGKILL' },
      },
    ]);
    expect(readHistory(h.toJSONL())).toEqual(h.entries);
  });

  it('reads a history from before instance entries, and refuses an instance entry of an unknown kind', () => {
    // What an older history holds: no instance entry at all, and it reads as it always did.
    const older = recorded();
    expect(readHistory(older.toJSONL())).toEqual(older.entries);
    expect(() =>
      readHistory(JSON.stringify({ type: 'instance', time: 1, instance: 'coordinator-1', event: 'exploded' })),
    ).toThrow(/^history line 1: event: /);
    expect(() => readHistory(JSON.stringify({ type: 'instance', time: 1, event: 'started' }))).toThrow(
      /^history line 1: instance: /,
    );
  });

  it('leaves the publish views alone', () => {
    const h = recorded();
    const before = publishedEvents(h.entries);
    h.instance('coordinator-1', 'killed', { pid: 7 });
    expect(publishedEvents(h.entries)).toEqual(before);
    expect(observedEvents(h.entries)).toHaveLength(1);
  });
});

describe('publishedEvents', () => {
  it('pairs invokes with completions; an invoke without completion counts as info', () => {
    const h = recorded();
    const all = publishedEvents(h.entries);
    expect(all.map((p) => [p.index, p.outcome, p.poison, p.completeTime])).toEqual([
      [0, 'ok', false, 3],
      [1, 'info', true, 12],
      [2, 'info', false, undefined],
    ]);
    expect(all[0]).toMatchObject({ process: 'client-0', key: 'b-1', partition: 0, offset: '42', event: content });
    expect(all[1]).toMatchObject({ error: 'request timed out', raw: '{oops' });
    expect(publishedEvents(h.entries, { outcomes: ['ok'] }).map((p) => p.index)).toEqual([0]);
    expect(publishedEvents(h.entries, { outcomes: ['info'] }).map((p) => p.index)).toEqual([1, 2]);
    expect(messageValue(all[0]!)).toBe(JSON.stringify(content));
    expect(messageValue(all[1]!)).toBe('{oops');
  });
});
