import { describe, expect, it } from 'vitest';
import { SeededRandom } from '@chaos-lab/model';
import { eachKindOnce, planFaults, type FaultDrawContext, type FaultMaker } from './fault-schedule.js';
import { InvalidArgumentError } from '../../errors.js';

const ctx = (seed: number): FaultDrawContext => ({
  rng: new SeededRandom(seed),
  instanceIds: ['coordinator-1', 'coordinator-2', 'coordinator-3'],
  brokerIds: [1, 2, 3],
  inputTopics: ['t.a', 't.b'],
  partitions: 6,
});

const menu: FaultMaker[] = [
  ({ rng, instanceIds }) => ({ kind: 'kill', target: rng.pick(instanceIds) }),
  () => ({ kind: 'redis-restart' }),
  ({ rng }) => ({ kind: 'broker-down', broker: rng.int(2, 3) }),
  () => ({ kind: 'postgres-readonly' }),
];
const opts = { startMs: 500, slotMs: 2750, durationMs: [1500, 2000] as const };

describe('eachKindOnce', () => {
  it('plans every maker of the menu once, one slot each, each over before the next slot', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const plan = eachKindOnce(ctx(seed), menu, opts);
      expect(plan.map((f) => f.at)).toEqual([500, 3250, 6000, 8750]);
      expect(new Set(plan.map((f) => f.spec.kind))).toEqual(
        new Set(['kill', 'redis-restart', 'broker-down', 'postgres-readonly']),
      );
      for (const f of plan) {
        expect(f.durationMs).toBeGreaterThanOrEqual(1500);
        expect(f.durationMs).toBeLessThanOrEqual(2000);
      }
    }
  });

  it('draws the order from the seed', () => {
    const orders = new Set(
      Array.from({ length: 30 }, (_, i) =>
        eachKindOnce(ctx(i + 1), menu, opts)
          .map((f) => f.spec.kind)
          .join(),
      ),
    );
    expect(orders.size).toBeGreaterThan(5);
    expect(eachKindOnce(ctx(9), menu, opts)).toEqual(eachKindOnce(ctx(9), menu, opts));
  });

  it('draws exactly as the scenarios did by hand: a shuffle of the menu, then one planFaults per slot', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const byHand = ctx(seed);
      const expected = byHand.rng
        .shuffle(menu)
        .flatMap((make, i) =>
          planFaults(byHand, { menu: [make], count: 1, startMs: 500 + i * 2750, durationMs: [1500, 2000] }),
        );
      const c = ctx(seed);
      expect(eachKindOnce(c, menu, opts)).toEqual(expected);
      // And leaves the random source where the hand-built plan did: what a scenario draws next is unchanged.
      expect(c.rng.int(0, 1_000_000)).toBe(byHand.rng.int(0, 1_000_000));
    }
  });

  it('plans nothing for an empty menu, and rejects a slot that is not a positive integer', () => {
    expect(eachKindOnce(ctx(1), [], opts)).toEqual([]);
    expect(() => eachKindOnce(ctx(1), menu, { ...opts, slotMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => eachKindOnce(ctx(1), menu, { ...opts, slotMs: 2.5 })).toThrow(/^slotMs/);
  });
});
