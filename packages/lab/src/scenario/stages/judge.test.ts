import { describe, expect, it } from 'vitest';
import { ENVIRONMENT_HELD, environmentHeldVerdict, judge, seedValid, type FinalRead } from './judge.js';

const emptyFinal: FinalRead = { postgres: { batches: [], slots: [], excess: [], pending: [] }, redis: { batches: [] } };

describe('judge stage', () => {
  it('an empty history with nothing stored holds every checker', () => {
    const verdicts = judge({ history: [], final: emptyFinal, online: [], broken: [] });
    expect(verdicts.length).toBeGreaterThan(0);
    expect(verdicts.some((v) => v.checker === ENVIRONMENT_HELD)).toBe(false);
  });

  it('adds a failing environment-held row when the test bed broke, naming what broke', () => {
    const verdicts = judge({ history: [], final: emptyFinal, online: [], broken: ['kafka died', 'redis died'] });
    const held = verdicts.find((v) => v.checker === ENVIRONMENT_HELD);
    expect(held).toMatchObject({ valid: false, errorCount: 2, firstError: { message: 'kafka died' } });
    expect(seedValid(verdicts, false)).toBe(false);
  });

  it('builds the environment-held verdict from the problems alone', () => {
    expect(environmentHeldVerdict(['x'])).toEqual({
      checker: ENVIRONMENT_HELD,
      valid: false,
      errorCount: 1,
      firstError: { message: 'x' },
      errors: [{ message: 'x' }],
      stats: {},
    });
  });

  it('a seed is valid only when every verdict holds and it did not time out', () => {
    const ok = [{ checker: 'a', valid: true as const, errorCount: 0, errors: [], stats: {} }];
    expect(seedValid(ok, false)).toBe(true);
    expect(seedValid(ok, true)).toBe(false);
    expect(seedValid([{ ...ok[0]!, valid: 'unknown' as never }], false)).toBe(false);
  });
});
