import { describe, expect, it } from 'vitest';
import { counterexampleTime, firstViolation } from './first-violation.js';
import { checkNoDuplicateAssignment } from './no-duplicate-assignment.js';
import { correctRun, ev } from './test-support.js';
import type { Verdict } from './types.js';

const failing = (errors: Verdict['errors']): Verdict => ({
  checker: 'x',
  valid: false,
  errorCount: errors.length,
  errors,
  stats: {},
});

describe('counterexampleTime', () => {
  it('takes the counterexample’s own time first', () => {
    expect(counterexampleTime({ message: 'm', time: 1200, effect_ago_ms: 50 }, { readAtMs: 9000 })).toEqual({
      time: 1200,
      how: 'counterexample',
    });
  });

  it('places a Postgres counterexample by its settlement before the final read, when the read’s time is known', () => {
    expect(counterexampleTime({ message: 'm', effect_ago_ms: 2500 }, { readAtMs: 9000 })).toEqual({
      time: 6500,
      how: 'postgres-settlement',
    });
    // A settlement older than the history (the session's previous seed, a skewed clock) is clamped to its start.
    expect(counterexampleTime({ message: 'm', effect_ago_ms: 20_000 }, { readAtMs: 9000 })?.time).toBe(0);
    // Without the read's time, "2.5 s before the read" places it nowhere.
    expect(counterexampleTime({ message: 'm', effect_ago_ms: 2500 }, {})).toBeUndefined();
    expect(counterexampleTime({ message: 'm', effect_ago_ms: 2500 })).toBeUndefined();
  });

  it('ignores what is not a time', () => {
    expect(counterexampleTime({ message: 'm', time: 'soon' as unknown as number })).toBeUndefined();
    expect(counterexampleTime({ message: 'm', time: -1 })).toBeUndefined();
    expect(counterexampleTime({ message: 'm', time: Number.NaN })).toBeUndefined();
  });
});

describe('firstViolation', () => {
  it('is the earliest placed counterexample, whatever its place in the list', () => {
    const v = failing([
      { message: 'a' },
      { message: 'b', time: 800 },
      { message: 'c', effect_ago_ms: 9000 },
      { message: 'd', time: 300 },
    ]);
    expect(firstViolation(v, { readAtMs: 10_000 })).toMatchObject({ time: 300, index: 3, how: 'counterexample' });
    expect(firstViolation(v, { readAtMs: 9500 })).toMatchObject({ time: 300 });
    expect(firstViolation(v, { readAtMs: 9100 })).toMatchObject({ time: 100, index: 2, how: 'postgres-settlement' });
  });

  it('is undefined for a verdict that holds, an unknown one, and one with no placed counterexample', () => {
    expect(firstViolation({ ...failing([{ message: 'a', time: 3 }]), valid: true })).toBeUndefined();
    expect(firstViolation({ ...failing([{ message: 'a', time: 3 }]), valid: 'unknown' })).toBeUndefined();
    expect(firstViolation(failing([{ message: 'a' }, { message: 'b', effect_ago_ms: 3 }]))).toBeUndefined();
  });

  it('finds the observe entry of a duplicate assignment in a checker’s verdict', () => {
    const lab = correctRun();
    lab.observe(ev.slotAssigned('b-1', 'e-3', 't-1'));
    const entry = lab.history.at(-1)!;
    const v = checkNoDuplicateAssignment(lab.input);
    expect(firstViolation(v, lab.final)).toMatchObject({ time: entry.time, index: 0 });
  });
});
