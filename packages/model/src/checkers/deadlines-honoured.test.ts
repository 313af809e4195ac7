import { describe, expect, it } from 'vitest';
import { checkDeadlinesHonoured } from './deadlines-honoured.js';
import type { FinalState, PgBatch } from './types.js';

const final = (batches: PgBatch[]): FinalState => ({
  postgres: { batches, slots: [], excess: [], pending: [] },
  redis: { batches: [] },
});

describe('deadlines-honoured', () => {
  it('passes batches timed out at or after their deadline, ready ones and open ones', () => {
    const v = checkDeadlinesHonoured({
      history: [],
      final: final([
        {
          batch_id: 'b-1',
          expected_count: 2,
          status: 'timed_out',
          deadline: '2026-12-03T10:00:00.000000Z',
          closed_at: '2026-12-03T10:00:00.250000Z',
        },
        { batch_id: 'b-2', expected_count: 2, status: 'ready', deadline: null, closed_at: '2026-12-03T10:00:00Z' },
        { batch_id: 'b-3', expected_count: 2, status: 'open', deadline: '2026-12-03T11:00:00Z', closed_at: null },
      ]),
    });
    expect(v.valid).toBe(true);
    expect(v.stats).toMatchObject({ batchesWithDeadline: 2, timedOut: 1, unread: 0 });
  });

  it('flags a batch closed before its deadline by the store clock, and one timed out with no deadline', () => {
    const v = checkDeadlinesHonoured({
      history: [],
      final: final([
        {
          batch_id: 'b-early',
          expected_count: 3,
          status: 'timed_out',
          deadline: '2026-12-03T10:10:00.000000Z',
          closed_at: '2026-12-03T10:00:00.000000Z',
        },
        {
          batch_id: 'b-none',
          expected_count: 3,
          status: 'timed_out',
          deadline: null,
          closed_at: '2026-12-03T10:00:00Z',
        },
      ]),
    });
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(2);
    expect(v.firstError?.message).toBe(
      "batch b-early timed out 600.0 s before its deadline (closed 2026-12-03T10:00:00.000000Z, deadline 2026-12-03T10:10:00.000000Z, both by Postgres' clock)",
    );
    expect(v.errors[1]?.message).toBe('batch b-none timed out but has no deadline');
  });

  it('reads an older final state (no deadline or close time) as unread, not as an error', () => {
    const v = checkDeadlinesHonoured({
      history: [],
      final: final([{ batch_id: 'b-1', expected_count: 1, status: 'timed_out' }]),
    });
    expect(v.valid).toBe(true);
    expect(v.stats).toMatchObject({ unread: 1 });
  });
});
