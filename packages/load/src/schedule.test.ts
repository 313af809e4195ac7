import { expect, test } from 'vitest';
import { parseProfile } from './profile.js';
import { ArrivalSchedule } from './schedule.js';

const base = {
  name: 's',
  seed: 1,
  batches: { sizeMin: 1, sizeMax: 1 },
  duplicateRatio: 0,
  validationFailureRatio: 0,
  textBytes: { min: 1, max: 1 },
  thresholds: {},
};

function starts(schedule: ArrivalSchedule): number[] {
  const out: number[] = [];
  for (let n = 0; ; n++) {
    const t = schedule.startOf(n);
    if (t === undefined) return out;
    out.push(t);
  }
}

test('constant arrival: rate per timeUnit, evenly spaced', () => {
  const arrival = {
    executor: 'constant-arrival-rate',
    rate: 30,
    timeUnit: '1m',
    duration: '2m',
    preAllocatedVUs: 1,
    maxVUs: 1,
  };
  const s = new ArrivalSchedule(parseProfile({ ...base, arrival }).arrival);
  const t = starts(s);
  expect(t).toHaveLength(60);
  expect(s.plannedIterations).toBe(60);
  expect(t[1]).toBe(2000);
  expect(t[59]).toBe(118_000);
});

test('ramping arrival: linear within stages, the integral of the rate', () => {
  const arrival = {
    executor: 'ramping-arrival-rate',
    startRate: 0,
    timeUnit: '1s',
    stages: [
      { target: 10, duration: '10s' }, // 0 → 10/s: 50 iterations
      { target: 10, duration: '5s' }, // 50 more
      { target: 0, duration: '2s' }, // 10 more
    ],
    preAllocatedVUs: 1,
    maxVUs: 1,
  };
  const s = new ArrivalSchedule(parseProfile({ ...base, arrival }).arrival);
  const t = starts(s);
  expect(t).toHaveLength(110);
  // Iteration n of the ramp starts at √(2n/a) with a = 1/s² (rate = t): n = 8 → 4 s.
  expect(t[8]).toBeCloseTo(4000, 6);
  expect(t[50]).toBeCloseTo(10_000, 6);
  expect(t[75]).toBeCloseTo(12_500, 6);
  for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThanOrEqual(t[i - 1]!);
  expect(t[109]).toBeLessThan(17_000);
});
