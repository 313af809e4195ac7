import { describe, expect, it } from 'vitest';
import type { RunResult } from './scenario.js';
import { ddminSubset, failedCheckers, type PlanSubset } from './shrink.js';

const subset = (publishes: number, faults: number) => ({
  scenario: 'fuzz',
  seed: 1,
  publishes: Array.from({ length: publishes }, (_, i) => i),
  faults: Array.from({ length: faults }, (_, i) => i),
});

describe('ddminSubset', () => {
  it('finds the failure-inducing publishes and fault exactly (1-minimal), faults first', async () => {
    const tried: string[] = [];
    // Fails when publishes 17 and 42 are both kept and fault 2 is: a registration, its content, one crash.
    const fails = async (c: PlanSubset) => {
      tried.push(`${c.faults.length}/${c.publishes.length}`);
      return c.publishes.includes(17) && c.publishes.includes(42) && c.faults.includes(2);
    };
    const min = await ddminSubset(subset(130, 5), fails);
    expect(min.publishes).toEqual([17, 42]);
    expect(min.faults).toEqual([2]);
    // The faults are reduced before any publish is dropped.
    const firstPublishCut = tried.findIndex((t) => !t.endsWith('/130'));
    expect(tried.slice(0, firstPublishCut).every((t) => t.endsWith('/130'))).toBe(true);
    expect(tried.length).toBeLessThan(60);
  });

  it('stops when the budget says so, keeping the smallest failing subset found so far', async () => {
    let runs = 0;
    const min = await ddminSubset(
      subset(64, 0),
      async (c) => (runs++, c.publishes.includes(5)),
      () => runs < 3,
    );
    expect(runs).toBe(3);
    expect(min.publishes).toContain(5);
    expect(min.publishes.length).toBeLessThan(64);
    expect(min.publishes.length).toBeGreaterThan(1);
  });

  it('keeps everything when nothing smaller fails', async () => {
    const min = await ddminSubset(subset(4, 1), async (c) => c.publishes.length === 4 && c.faults.length === 1);
    expect(min).toEqual(subset(4, 1));
  });
});

describe('failedCheckers', () => {
  const run = {
    verdicts: [
      {
        checker: 'nothing-lost',
        valid: false,
        errorCount: 2,
        stats: {},
        errors: [{ message: 'content a parked for 21 s' }, { message: 'validation failure x.docx settled no slot' }],
      },
      {
        checker: 'inputs-consumed',
        valid: false,
        errorCount: 1,
        stats: {},
        errors: [{ message: 'stuck at offset 0: unsupported Unicode escape sequence' }],
      },
      { checker: 'environment-held', valid: false, errorCount: 1, stats: {}, errors: [{ message: 'the broker died' }] },
      { checker: 'stores-agree', valid: true, errorCount: 0, stats: {}, errors: [] },
    ],
  } as unknown as RunResult;

  it("names the failing checkers, never the test bed's own verdict", () => {
    expect(failedCheckers(run)).toEqual(['nothing-lost', 'inputs-consumed']);
  });

  it('with a pattern, only checkers with a matching counterexample (any of them, not only the first)', () => {
    expect(failedCheckers(run, /settled no slot/)).toEqual(['nothing-lost']);
    expect(failedCheckers(run, /Unicode|22P05/)).toEqual(['inputs-consumed']);
    expect(failedCheckers(run, /nothing like this/)).toEqual([]);
  });
});
