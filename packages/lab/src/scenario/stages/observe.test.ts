import { afterEach, describe, expect, it, vi } from 'vitest';
import { HistoryRecorder } from '@chaos-lab/model';
import { auditInputs, committedTotal, judgedHistory, seenWithout, stallDecision } from './observe.js';
import type { SeedContext } from './seed-context.js';

describe('observe stage: the stall decision', () => {
  const base = { stallMs: 1000, deadline: 100_000, lastChange: 0, lastAudited: -Infinity };

  it('waits while progress is recent', () => {
    expect(stallDecision({ ...base, now: 900 })).toBe('wait');
  });

  it('judges stuck past the bound only once the inputs were audited since progress stopped', () => {
    expect(stallDecision({ ...base, now: 1500 })).toBe('wait');
    expect(stallDecision({ ...base, now: 1500, lastAudited: 1200 })).toBe('stalled');
    expect(stallDecision({ ...base, now: 1500, lastAudited: -5 })).toBe('wait');
  });

  it('judges stuck after twice the bound even when the input log stays behind', () => {
    expect(stallDecision({ ...base, now: 2001 })).toBe('stalled');
  });

  it('gives up at the deadline; a stall past the deadline is still a stall', () => {
    expect(stallDecision({ ...base, now: 500, deadline: 400 })).toBe('timeout');
    expect(stallDecision({ ...base, now: 2500, deadline: 400 })).toBe('stalled');
  });
});

describe('observe stage: pure helpers', () => {
  it('sums the committed offsets, ignoring the uncommitted', () => {
    expect(committedTotal([{ committed: '5' }, { committed: '-1' }, { committed: '7' }])).toBe(12n);
    expect(committedTotal(undefined)).toBeUndefined();
  });

  it('keeps the history as it is when the broker lost nothing, and copies it', () => {
    const entries: never[] = [];
    const seen = seenWithout(entries, []);
    expect(seen).toEqual([]);
    expect(seen).not.toBe(entries);
    expect(judgedHistory(entries, undefined)).toEqual([]);
    expect(judgedHistory(entries, { ends: new Map(), lost: [], seen: [] })).toEqual([]);
  });

  it('marks the publishes the broker lost as not sent (info), and only those', () => {
    const entries = [
      { type: 'ok', f: 'publish', index: 1 },
      { type: 'ok', f: 'publish', index: 2 },
    ] as never[];
    const seen = seenWithout(entries, [{ index: 2 }]) as unknown as { type: string; index: number; error?: string }[];
    expect(seen.map((e) => e.type)).toEqual(['ok', 'info']);
    expect(seen[1]!.error).toMatch(/lost between the client and the broker/);
    expect(
      judgedHistory(entries, { ends: new Map(), lost: [{ index: 2, topic: 't', key: undefined }], seen: [] }),
    ).toEqual(seen);
  });
});

describe('observe stage: the audit of the inputs', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts down while the input log reads the input topics to their end, and stops once it has', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const lines: string[] = [];
    // The input log takes 7 s of its 15 s to catch up: one line, at 5 s.
    const inputLog = {
      caughtUp: () => new Promise<boolean>((r) => setTimeout(() => r(true), 7000)),
      missing: () => [],
    };
    const ctx = {
      session: { endOffsets: async () => new Map([['in/0', 3n]]), inputLog },
      planned: { topics: { prefix: 'p.' } },
      recorder: new HistoryRecorder(),
      inputStart: new Map(),
      progress: (l: string) => lines.push(l),
    } as unknown as SeedContext;
    const audited = auditInputs(ctx);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(await audited).toMatchObject({ lost: [] });
    expect(lines).toEqual(['lab: waiting for the input log to read the input topics to their end: 10 s left of 15 s']);
  });
});
