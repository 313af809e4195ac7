import { describe, expect, it } from 'vitest';
import { planFaults, type FaultDrawContext, type FaultMaker } from './fault-schedule.js';
import { SeededRandom } from '@chaos-lab/model';
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
  ({ rng, brokerIds }) => ({ kind: 'broker-down', broker: rng.pick(brokerIds) }),
  ({ rng }) => ({
    kind: 'link-toxic',
    link: 'redis',
    target: 'all',
    toxic: { type: 'latency', attributes: { latency: rng.int(10, 100) } },
  }),
];

describe('planFaults', () => {
  it('is a pure function of the seed', () => {
    const a = planFaults(ctx(7), { menu, count: 6 });
    expect(planFaults(ctx(7), { menu, count: 6 })).toEqual(a);
    expect(planFaults(ctx(8), { menu, count: 6 })).not.toEqual(a);
  });

  it('never overlaps faults and keeps a recovery gap between them', () => {
    const plan = planFaults(ctx(3), { menu, count: 10, startMs: 200, durationMs: [100, 300], gapMs: [50, 80] });
    expect(plan[0]!.at).toBe(200);
    for (let i = 1; i < plan.length; i++) {
      const prev = plan[i - 1]!;
      expect(plan[i]!.at - (prev.at + prev.durationMs)).toBeGreaterThanOrEqual(50);
      expect(plan[i]!.durationMs).toBeGreaterThanOrEqual(100);
      expect(plan[i]!.durationMs).toBeLessThanOrEqual(300);
    }
  });

  it('rejects an empty menu and a bad count', () => {
    expect(() => planFaults(ctx(1), { menu: [], count: 1 })).toThrow(InvalidArgumentError);
    expect(() => planFaults(ctx(1), { menu, count: -1 })).toThrow(/^count/);
  });
});
