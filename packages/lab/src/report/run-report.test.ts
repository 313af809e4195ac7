/**
 * The report's data from a run: fault windows paired from hand-built nemesis
 * entries, the timeline's rates and instance lives, verdict rows and when each
 * violation happened. (The charts come from a real Prometheus; the scenario
 * and load tests check them on real runs, in Chromium.)
 */
import { describe, expect, it } from 'vitest';
import { LIFECYCLE_KINDS, parseReportInput } from '@chaos-lab/report';
import { INSTANCE_EVENTS, type HistoryEntry, type Verdict } from '@chaos-lab/model';
import { faultsFromHistory, MAX_RATE_BINS, timelineFromHistory, verdictRows, violatedAt } from './run-report.js';
import type { OnlineFinding } from '../scenario/online-monitor.js';

const nemesis = (
  time: number,
  phase: 'start' | 'end',
  fault: string,
  target: string | undefined,
  detail: Record<string, unknown>,
): HistoryEntry => ({ type: 'nemesis', time, phase, fault, ...(target !== undefined && { target }), detail });

describe('instance events', () => {
  it('are the kinds the report draws, one for one: the report keeps its own input contract, this keeps them equal', () => {
    expect([...INSTANCE_EVENTS]).toEqual([...LIFECYCLE_KINDS]);
  });
});

describe('faultsFromHistory', () => {
  it('pairs starts with ends per fault and target, on the wall clock, with the effect', () => {
    const epoch = 1_700_000_000_000;
    const history: HistoryEntry[] = [
      nemesis(100, 'start', 'kill', 'coordinator-2', { label: 'kill coordinator-2' }),
      nemesis(150, 'start', 'link-down', 'coordinator-1', { label: 'down redis@coordinator-1' }),
      nemesis(900, 'end', 'link-down', 'coordinator-1', { label: 'down redis@coordinator-1', tookEffect: false }),
      nemesis(1200, 'end', 'kill', 'coordinator-2', { label: 'kill coordinator-2', tookEffect: true }),
      nemesis(1300, 'start', 'redis-restart', undefined, { label: 'redis restart' }),
      nemesis(1310, 'end', 'redis-restart', undefined, { label: 'redis restart', error: 'refused' }),
      nemesis(2000, 'start', 'pause', 'coordinator-3', { label: 'pause coordinator-3' }),
    ];
    expect(faultsFromHistory(history, epoch)).toEqual([
      {
        label: 'kill coordinator-2',
        kind: 'kill',
        target: 'coordinator-2',
        start: epoch + 100,
        end: epoch + 1200,
        effect: 'took effect',
      },
      {
        label: 'down redis@coordinator-1',
        kind: 'link-down',
        target: 'coordinator-1',
        start: epoch + 150,
        end: epoch + 900,
        effect: 'showed no effect',
      },
      {
        label: 'redis restart',
        kind: 'redis-restart',
        start: epoch + 1300,
        end: epoch + 1310,
        effect: 'did not take effect: refused',
      },
      // Never ended (the run was torn down): open to the end of the run.
      { label: 'pause coordinator-3', kind: 'pause', target: 'coordinator-3', start: epoch + 2000 },
    ]);
  });

  it('ignores an end without a start and everything that is not the nemesis', () => {
    const history: HistoryEntry[] = [
      nemesis(5, 'end', 'kill', 'coordinator-1', { label: 'kill coordinator-1' }),
      { type: 'observe', time: 6, topic: 't', partition: 0, offset: '0', raw: 'x' },
    ];
    expect(faultsFromHistory(history, 0)).toEqual([]);
  });
});

describe('verdictRows', () => {
  it('shows a failing checker with its error count and first counterexamples', () => {
    const rows = verdictRows([
      { checker: 'a', valid: true, errorCount: 0, errors: [], stats: { batches: 3 } },
      {
        checker: 'b',
        valid: false,
        errorCount: 9,
        errors: Array.from({ length: 9 }, (_, i) => ({ message: `e${i}` })),
        stats: {},
      },
    ]);
    expect(rows[0]).toEqual({ checker: 'a', valid: true, summary: 'batches 3', counterexamples: [] });
    expect(rows[1]!.summary).toBe('9 error(s)');
    expect(rows[1]!.counterexamples).toHaveLength(5);
  });
});

describe('timelineFromHistory', () => {
  const epoch = 1_700_000_000_000;
  // The history began 2 s before the work (the session's readiness); the report's window is the work's 5 s.
  const window = { startedAt: epoch + 2000, endedAt: epoch + 7000 };
  const history: HistoryEntry[] = [
    { type: 'instance', time: 10, instance: 'coordinator-1', event: 'running', pid: 7 },
    { type: 'instance', time: 11, instance: 'coordinator-2', event: 'running', pid: 8 },
    ...Array.from({ length: 40 }, (_, i): HistoryEntry[] => [
      { type: 'invoke', f: 'publish', process: 'p', index: i, time: 2000 + i * 120, topic: 't', raw: 'x' },
      { type: 'ok', f: 'publish', process: 'p', index: i, time: 2030 + i * 120 },
    ]).flat(),
    { type: 'instance', time: 3000, instance: 'coordinator-2', event: 'killed', pid: 8 },
    { type: 'instance', time: 3004, instance: 'coordinator-2', event: 'exited', pid: 8, detail: { signal: 'SIGKILL' } },
    {
      type: 'instance',
      time: 6500,
      instance: 'coordinator-1',
      event: 'joined',
      pid: 7,
      at: 6320,
      detail: { partitions: 6 },
    },
    { type: 'observe', time: 6600, topic: 'o', partition: 0, offset: '0', raw: 'not json' },
  ];

  it('bins the history at 100 ms over the report window and places every instance event on the wall clock', () => {
    const t = timelineFromHistory(history, epoch, window);
    expect(t.binMs).toBe(100);
    expect(t.rates.map((r) => [r.group, r.name, r.counts.length, r.counts.reduce((a, b) => a + b, 0)])).toEqual([
      ['inputs', 'published', 50, 40],
      ['inputs', 'acknowledged', 50, 40],
      ['outputs', 'not a contract event', 50, 1],
    ]);
    expect(t.instances).toEqual([
      {
        id: 'coordinator-1',
        events: [
          { time: epoch + 10, kind: 'running', note: 'pid 7' },
          { time: epoch + 6320, kind: 'joined', note: 'pid 7, 6 partitions' },
        ],
      },
      {
        id: 'coordinator-2',
        events: [
          { time: epoch + 11, kind: 'running', note: 'pid 8' },
          { time: epoch + 3000, kind: 'killed', note: 'pid 8' },
          { time: epoch + 3004, kind: 'exited', note: 'pid 8, signal SIGKILL' },
        ],
      },
    ]);
    expect(t.note).toContain('per 100 ms bin');
    // What the report accepts.
    expect(() =>
      parseReportInput({
        kind: 'chaos',
        title: 't',
        runId: 'r',
        outcome: 'valid',
        facts: [],
        faults: [],
        charts: [],
        verdicts: [],
        logs: [],
        ...window,
        timeline: t,
      }),
    ).not.toThrow();
  });

  it('widens the bins of a long run to at most MAX_RATE_BINS, in steps of 100 ms', () => {
    const t = timelineFromHistory([], epoch, { startedAt: epoch, endedAt: epoch + 600_000 });
    expect(MAX_RATE_BINS).toBe(1200);
    expect(t.binMs).toBe(500);
    expect(t.rates[0]!.counts).toHaveLength(1200);
  });

  it('says when the instance events were inferred from the faults of an older history', () => {
    const older: HistoryEntry[] = [
      { type: 'nemesis', time: 2500, phase: 'start', fault: 'kill', target: 'coordinator-3', detail: { label: 'k' } },
    ];
    const t = timelineFromHistory(older, epoch, window);
    expect(t.instances).toEqual([
      { id: 'coordinator-3', events: [{ time: epoch + 2500, kind: 'killed', note: "from the kill fault's start" }] },
    ]);
    expect(t.note).toContain('inferred from the process faults');
  });
});

describe('violatedAt', () => {
  const epoch = 1_700_000_000_000;
  const failing = (errors: Verdict['errors'], checker = 'no-duplicate-assignment'): Verdict => ({
    checker,
    valid: false,
    errorCount: errors.length,
    errors,
    stats: {},
  });
  const online = (f: Partial<OnlineFinding>): OnlineFinding => ({
    checker: 'no-duplicate-assignment',
    message: 'm',
    effectMs: 0,
    effectFrom: 'history',
    detectedMs: 0,
    error: { message: 'm' },
    ...f,
  });

  it('places a violation at its earliest counterexample time, on the wall clock, and says how', () => {
    const v = failing([
      { message: 'a', effect_ago_ms: 1000 },
      { message: 'b', time: 4200 },
    ]);
    expect(violatedAt(v, { epochStartMs: epoch })).toEqual({
      time: epoch + 4200,
      how: 'counterexample 2 of 2: the history entry it names',
    });
    expect(violatedAt(v, { epochStartMs: epoch, final: { readAtMs: 5000 } })).toEqual({
      time: epoch + 4000,
      how: 'counterexample 1 of 2: when Postgres settled the rows it names (counted back from the final read)',
    });
  });

  it('takes what the online monitor saw when it is earlier', () => {
    const v = failing([{ message: 'a', time: 4200 }]);
    expect(violatedAt(v, { epochStartMs: epoch, online: [online({ effectMs: 3100 })] })).toEqual({
      time: epoch + 3100,
      how: 'seen online: the history entry that made it',
    });
    expect(
      violatedAt(v, {
        epochStartMs: epoch,
        online: [online({ effectMs: 100, effectFrom: 'previous-snapshot', detectedMs: 3900 })],
      }),
    ).toEqual({ time: epoch + 3900, how: 'when the online monitor saw it (after its previous Postgres snapshot)' });
    // Another checker's finding says nothing of this one.
    expect(violatedAt(v, { epochStartMs: epoch, online: [online({ checker: 'x', effectMs: 5 })] })?.time).toBe(
      epoch + 4200,
    );
  });

  it('leaves a violation judged from the final read alone unplaced, and a verdict that holds', () => {
    expect(violatedAt(failing([{ message: 'a' }]), { epochStartMs: epoch, final: { readAtMs: 5000 } })).toBeUndefined();
    expect(
      violatedAt({ ...failing([{ message: 'a', time: 5 }]), valid: true }, { epochStartMs: epoch }),
    ).toBeUndefined();
  });

  it('goes into the verdict rows when they are asked to place them', () => {
    const verdicts = [failing([{ message: 'a', time: 4200 }]), failing([{ message: 'b' }], 'stores-agree')];
    const rows = verdictRows(verdicts, { epochStartMs: epoch });
    expect(rows.map((r) => r.violatedAt)).toEqual([
      { time: epoch + 4200, how: 'counterexample 1 of 1: the history entry it names' },
      undefined,
    ]);
    expect('violatedAt' in rows[1]!).toBe(false);
    expect(verdictRows(verdicts).every((r) => !('violatedAt' in r))).toBe(true);
  });
});
