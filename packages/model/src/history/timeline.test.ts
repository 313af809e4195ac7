import { EventType } from '@chaos-lab/contracts';
import { InvalidArgumentError } from '@chaos-lab/errors';
import { describe, expect, it } from 'vitest';
import { ev, input, LabSim } from '../checkers/test-support.js';
import type { HistoryEntry } from './history.js';
import { binCounts, historyRates, instanceLives, RATE_BIN_MS } from './timeline.js';

describe('binCounts', () => {
  it('counts times per half-open bin, the end itself in the last bin, nothing outside', () => {
    expect(binCounts([0, 99.9, 100, 250, 299, 300, -1, 301], 0, 300, 100)).toEqual([2, 1, 3]);
  });

  it('has ceil(span / bin) bins, at least one', () => {
    expect(binCounts([], 1000, 6000, 100)).toHaveLength(50);
    expect(binCounts([], 1000, 6050, 100)).toHaveLength(51);
    expect(binCounts([5], 5, 5, 100)).toEqual([1]);
  });

  it('refuses a bin that is not a positive width and a window that ends before it starts', () => {
    expect(() => binCounts([], 0, 10, 0)).toThrow(InvalidArgumentError);
    expect(() => binCounts([], 0, 10, Number.NaN)).toThrow(/binMs/);
    expect(() => binCounts([], 10, 0, 100)).toThrow(/to/);
  });
});

describe('historyRates', () => {
  it('bins publishes, acknowledgements and outputs by type at 100 ms: a 5 s run has 50 points a line', () => {
    const history: HistoryEntry[] = [];
    const lab = new LabSim();
    lab.register('b-1', ['e-1', 'e-2']);
    lab.publish(input.content('b-1', 't-1'), { outcome: 'info' });
    lab.observe(ev.slotAssigned('b-1', 'e-1', 't-1'), 2);
    lab.observeRaw('nope');
    // Spread LabSim's entries over the run: one every 100 ms from 50 ms.
    lab.history.forEach((e, i) => history.push({ ...e, time: 50 + i * 100 }));
    const rates = historyRates(history, { from: 0, to: 5000 });
    expect(RATE_BIN_MS).toBe(100);
    expect(rates.map((r) => [r.group, r.name, r.total])).toEqual([
      ['inputs', 'published', 2],
      ['inputs', 'acknowledged', 1],
      ['inputs', 'not acknowledged', 1],
      ['outputs', 'slot assigned', 2],
      ['outputs', 'not a contract event', 1],
    ]);
    for (const r of rates) expect(r.counts).toHaveLength(50);
    // The registration's invoke at 50 ms is in bin 0, its ok at 150 ms in bin 1.
    expect(rates[0]!.counts.slice(0, 3)).toEqual([1, 0, 1]);
    expect(rates[1]!.counts.slice(0, 3)).toEqual([0, 1, 0]);
  });

  it('keeps the input lines of an idle run (at zero) and leaves out outputs that never came', () => {
    const rates = historyRates([], { from: 0, to: 1000, binMs: 250 });
    expect(rates).toEqual([
      { name: 'published', group: 'inputs', counts: [0, 0, 0, 0], total: 0 },
      { name: 'acknowledged', group: 'inputs', counts: [0, 0, 0, 0], total: 0 },
    ]);
  });

  it('names every output type it knows', () => {
    const lab = new LabSim();
    lab.observe(ev.ready('b-1', [], []));
    lab.observe(ev.timedOut('b-2', [], [], ['e-1']));
    const names = historyRates(lab.history, { from: 0, to: 100 }).map((r) => r.name);
    expect(names).toEqual(['published', 'acknowledged', 'batch ready', 'batch timed out']);
    expect(EventType.BatchReady).toBe('batch.ready.v1');
  });
});

describe('instanceLives', () => {
  it('draws each instance’s life from its instance entries, a join at the time the instance reports', () => {
    const history: HistoryEntry[] = [
      { type: 'instance', time: 1, instance: 'coordinator-1', event: 'running', pid: 10 },
      { type: 'instance', time: 2, instance: 'coordinator-2', event: 'running', pid: 11 },
      { type: 'nemesis', time: 500, phase: 'start', fault: 'kill', target: 'coordinator-2' },
      { type: 'instance', time: 501, instance: 'coordinator-2', event: 'killed', pid: 11 },
      {
        type: 'instance',
        time: 510,
        instance: 'coordinator-2',
        event: 'exited',
        pid: 11,
        detail: { signal: 'SIGKILL' },
      },
      { type: 'instance', time: 2000, instance: 'coordinator-2', event: 'started', pid: 12 },
      { type: 'instance', time: 4200, instance: 'coordinator-1', event: 'joined', at: 3900, detail: { partitions: 9 } },
      { type: 'instance', time: 4000, instance: 'coordinator-2', event: 'ready', pid: 12 },
    ];
    const lives = instanceLives(history);
    expect(lives.map((l) => l.instance)).toEqual(['coordinator-1', 'coordinator-2']);
    expect(lives[0]).toEqual({
      instance: 'coordinator-1',
      source: 'instance-entries',
      events: [
        { time: 1, event: 'running', pid: 10 },
        { time: 3900, event: 'joined', note: '9 partitions' },
      ],
    });
    // The kill's nemesis entry is not counted twice: the instance entries say it all.
    expect(lives[1]!.events.map((e) => [e.time, e.event, e.note])).toEqual([
      [2, 'running', undefined],
      [501, 'killed', undefined],
      [510, 'exited', 'signal SIGKILL'],
      [2000, 'started', undefined],
      [4000, 'ready', undefined],
    ]);
  });

  it('falls back on the process faults of a history without instance entries, and says so', () => {
    const n = (time: number, phase: 'start' | 'end', fault: string, target: string, detail = {}): HistoryEntry => ({
      type: 'nemesis',
      time,
      phase,
      fault,
      target,
      detail,
    });
    const lives = instanceLives([
      n(100, 'start', 'kill', 'coordinator-1'),
      n(900, 'end', 'kill', 'coordinator-1', { restartedPid: 77 }),
      n(1000, 'start', 'pause', 'coordinator-2'),
      n(3000, 'end', 'pause', 'coordinator-2', { pid: 5 }),
      n(3100, 'start', 'commit-boundary-crash', 'coordinator-3'),
      n(5000, 'end', 'commit-boundary-crash', 'coordinator-3', { exit: { code: null, signal: 'SIGKILL' } }),
      n(5100, 'start', 'link-down', 'coordinator-1'), // not a process fault
      { type: 'nemesis', time: 5200, phase: 'start', fault: 'broker-down' },
    ]);
    expect(lives.every((l) => l.source === 'nemesis-entries')).toBe(true);
    expect(
      lives.map((l) => [l.instance, l.events.map((e) => `${e.time} ${e.event}${e.pid ? ` ${e.pid}` : ''}`)]),
    ).toEqual([
      ['coordinator-1', ['100 killed', '900 started 77']],
      ['coordinator-2', ['1000 paused', '3000 resumed 5']],
      ['coordinator-3', ['5000 exited']],
    ]);
    expect(lives[0]!.events[1]!.note).toBe("from the kill fault's end (started again by then)");
  });
});
