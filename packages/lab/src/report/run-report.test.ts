/**
 * The report's data from a run: fault windows paired from hand-built nemesis
 * entries, and verdict rows. (The charts come from a real Prometheus; the
 * scenario and load tests check them on real runs, in Chromium.)
 */
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '@chaos-lab/model';
import { faultsFromHistory, verdictRows } from './run-report.js';

const nemesis = (
  time: number,
  phase: 'start' | 'end',
  fault: string,
  target: string | undefined,
  detail: Record<string, unknown>,
): HistoryEntry => ({ type: 'nemesis', time, phase, fault, ...(target !== undefined && { target }), detail });

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
