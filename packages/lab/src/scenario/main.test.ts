import { describe, expect, it } from 'vitest';
import { chaosTestsEnabled, parseSeeds } from './main.js';

describe('parseSeeds', () => {
  it('reads single seeds, lists and ranges', () => {
    expect(parseSeeds('7')).toEqual([7]);
    expect(parseSeeds('1,3')).toEqual([1, 3]);
    expect(parseSeeds('1..3,9')).toEqual([1, 2, 3, 9]);
  });

  it('names the flag and the value when it cannot read them', () => {
    expect(() => parseSeeds('3..1')).toThrow(/--seeds.*3\.\.1/);
    expect(() => parseSeeds('x')).toThrow(/--seeds.*"x"/);
  });
});

describe('chaosTestsEnabled', () => {
  it('is on in CI and with LAB_CHAOS_TESTS=1, off locally and with LAB_CHAOS_TESTS=0', () => {
    expect(chaosTestsEnabled({ CI: 'true' })).toBe(true);
    expect(chaosTestsEnabled({ LAB_CHAOS_TESTS: '1' })).toBe(true);
    expect(chaosTestsEnabled({})).toBe(false);
    expect(chaosTestsEnabled({ CI: 'true', LAB_CHAOS_TESTS: '0' })).toBe(false);
  });
});
