/**
 * A seeded random source (pure-rand's xoroshiro128+). Everything random in a
 * plan — order, duplicates, which events are poisoned, fault times — is drawn
 * from one of these, so the same seed gives the same plan on any machine.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { InvalidArgumentError } from '@chaos-lab/errors';

export class SeededRandom {
  private readonly rng;

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
      throw new InvalidArgumentError('seed', seed, 'an integer from 0 to 4294967295');
    }
    this.rng = xoroshiro128plus(seed);
  }

  /** Integer in [from, to], both included. */
  int(from: number, to: number): number {
    return uniformInt(this.rng, from, to);
  }

  /** Float in [0, 1). */
  float(): number {
    return uniformInt(this.rng, 0, 2 ** 30 - 1) / 2 ** 30;
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new InvalidArgumentError('items', items, 'a non-empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** Fisher–Yates, returning a new array. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** A deterministic UUID-shaped id (v4 layout) drawn from this source. */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(0, 15).toString(16));
    hex[12] = '4';
    hex[16] = ((this.int(0, 15) & 0x3) | 0x8).toString(16);
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
