/**
 * Seeds spread over runners: `--shard k/n` keeps the seeds at positions k-1, k-1+n, k-1+2n, … of the
 * asked list. Round-robin rather than contiguous blocks, so that shards of a range get seeds of every
 * part of it and take about the same time; and a pure function of (seeds, k, n), so every runner of a
 * matrix computes the same split without talking to the others. Shards 1..n of one list are disjoint and
 * together hold every seed once.
 */
import { InvalidArgumentError } from '../errors.js';

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** `3/10` → `{ index: 3, count: 10 }`. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || count > 1000 || index < 1 || index > count)
    throw new InvalidArgumentError('--shard', text, 'k/n with 1 ≤ k ≤ n ≤ 1000, such as 3/10');
  return { index, count };
}

/** The seeds shard `index` of `count` runs. */
export function shardSeeds(seeds: readonly number[], shard: Shard): number[] {
  return seeds.filter((_, i) => i % shard.count === shard.index - 1);
}

export function shardLabel(shard: Shard): string {
  return `shard${shard.index}of${shard.count}`;
}
