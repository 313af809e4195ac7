import { describe, expect, it } from 'vitest';
import type { PlannedPublish } from '@chaos-lab/model';
import { chunkDueMs, paceChunks, PACE_TICK_MS } from './drive.js';

const pub = (key: string, group?: string): PlannedPublish =>
  ({ topic: 't', key, ...(group && { group }) }) as PlannedPublish;
const keys = (chunks: PlannedPublish[][]) => chunks.map((c) => c.map((p) => p.key));

describe('drive stage: pacing', () => {
  it('sends an unpaced plan in chunks of at most 200', () => {
    const chunks = paceChunks(
      Array.from({ length: 450 }, (_, i) => pub(String(i))),
      0,
    );
    expect(chunks.map((c) => c.length)).toEqual([200, 200, 50]);
  });

  it('spreads a paced plan over paceMs, one chunk per tick', () => {
    const publishes = Array.from({ length: 100 }, (_, i) => pub(String(i)));
    const chunks = paceChunks(publishes, 1000); // 10 ticks → 10 per chunk
    expect(chunks).toHaveLength(10);
    expect(chunks.every((c) => c.length === 10)).toBe(true);
    expect(chunks.flat()).toEqual(publishes);
    expect(paceChunks(publishes.slice(0, 3), 60_000).map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it('keeps a group in one chunk and never mixes it with ungrouped publishes', () => {
    const chunks = paceChunks([pub('a'), pub('b', 'g'), pub('c', 'g'), pub('d', 'g'), pub('e'), pub('f', 'h')], 0);
    expect(keys(chunks)).toEqual([['a'], ['b', 'c', 'd'], ['e'], ['f']]);
  });

  it('dues chunk i of a paced run i ticks after the start; an unpaced one at once', () => {
    expect(chunkDueMs(3, 1000)).toBe(3 * PACE_TICK_MS);
    expect(chunkDueMs(3, 0)).toBe(0);
  });
});
