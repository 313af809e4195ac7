import { describe, expect, it } from 'vitest';
import { parseShard, shardSeeds } from './shard.js';

describe('shards', () => {
  it('split a seed list into disjoint shards that together hold every seed once', () => {
    const seeds = Array.from({ length: 200 }, (_, i) => i + 1);
    const parts = [1, 2, 3, 4].map((index) => shardSeeds(seeds, { index, count: 4 }));
    expect(parts.map((p) => p.length)).toEqual([50, 50, 50, 50]);
    expect(parts.flat().sort((a, b) => a - b)).toEqual(seeds);
    expect(parts[2]!.slice(0, 3)).toEqual([3, 7, 11]);
  });

  it('are the same on every runner: a pure function of the list and k/n', () => {
    expect(shardSeeds([9, 4, 7, 1, 3], parseShard('2/2'))).toEqual([4, 1]);
    expect(shardSeeds([9, 4, 7, 1, 3], parseShard(' 2 / 2 '))).toEqual([4, 1]);
  });

  it('name the argument and the expected form when k/n is wrong', () => {
    for (const bad of ['0/4', '5/4', '3', '1/0', 'a/b', '-1/4'])
      expect(() => parseShard(bad)).toThrow(`--shard: expected k/n with 1 ≤ k ≤ n ≤ 1000, such as 3/10 (got "${bad}")`);
  });
});
