import { describe, expect, it } from 'vitest';
import { INSTANCE_EVENTS, type HistoryEntry } from '../history/history.js';
import { defaultCheckers, runCheckers, runOnlineCheckers } from './run.js';
import { correctRun, ev } from './test-support.js';
import { defineChecker, type Checker } from './types.js';
import { VerdictBuilder } from './verdict.js';

describe('runCheckers', () => {
  it('accepts a correct run with every default checker, in order', () => {
    const verdicts = runCheckers(correctRun().input);
    expect(verdicts.map((v) => v.checker)).toEqual([
      'no-duplicate-assignment',
      'one-ready-per-batch',
      'nothing-lost',
      'every-batch-finished',
      'deadlines-honoured',
      'stores-agree',
      'dead-letters',
      'outputs-well-formed',
      'outputs-fit-broker',
      'faults-took-effect',
      'inputs-consumed',
      'outputs-have-causes',
    ]);
    expect(defaultCheckers.map((c) => c.id)).toEqual(verdicts.map((v) => v.checker));
    // `lab list checkers` shows each one's line.
    for (const c of defaultCheckers) expect(c.description, c.id).toMatch(/^[a-z].{20,110}$/);
    for (const v of verdicts) expect(v, v.checker).toMatchObject({ valid: true, errorCount: 0, errors: [] });
  });

  it('ignores instance entries: every verdict, counterexample and count is as without them', () => {
    const withInstances = (history: readonly HistoryEntry[]): HistoryEntry[] =>
      history.flatMap((e, i): HistoryEntry[] => [
        e,
        { type: 'instance', time: e.time, instance: `coordinator-${(i % 3) + 1}`, event: INSTANCE_EVENTS[i % 9]! },
      ]);
    const ok = correctRun();
    const bad = correctRun();
    bad.observe(ev.slotAssigned('b-1', 'e-3', 't-1'));
    bad.observeRaw('not an event');
    for (const lab of [ok, bad]) {
      const plain = runCheckers(lab.input);
      expect(runCheckers({ ...lab.input, history: withInstances(lab.history) })).toEqual(plain);
      expect(runOnlineCheckers(withInstances(lab.history))).toEqual(runOnlineCheckers(lab.history));
    }
    expect(runCheckers(bad.input).some((v) => v.valid === false)).toBe(true);
  });

  it('turns a checker that throws into valid: unknown without stopping the others', () => {
    const boom = defineChecker('boom', () => {
      throw new TypeError('cannot read batch_id of undefined');
    });
    const verdicts = runCheckers(correctRun().input, [boom, defaultCheckers[0]!]);
    expect(verdicts[0]).toMatchObject({
      checker: 'boom',
      valid: 'unknown',
      errorCount: 0,
      firstError: { message: 'checker threw: TypeError: cannot read batch_id of undefined' },
    });
    expect(verdicts[0]?.firstError?.stack).toEqual(expect.stringContaining('cannot read batch_id'));
    expect(verdicts[1]).toMatchObject({ checker: 'no-duplicate-assignment', valid: true });
  });

  it('names a plain function by its name and survives non-Error throws', () => {
    function homemade(): never {
      throw 'a string';
    }
    const [v] = runCheckers(correctRun().input, [homemade as unknown as Checker]);
    expect(v).toMatchObject({
      checker: 'homemade',
      valid: 'unknown',
      firstError: { message: 'checker threw: a string' },
    });
  });

  it('counts every error but keeps only the first 20', () => {
    const many = defineChecker('many', () => {
      const b = new VerdictBuilder('many');
      for (let i = 0; i < 25; i++) b.error(`error ${i}`, { i });
      return b.build();
    });
    const [v] = runCheckers(correctRun().input, [many]);
    expect(v?.valid).toBe(false);
    expect(v?.errorCount).toBe(25);
    expect(v?.errors).toHaveLength(20);
    expect(v?.firstError).toEqual({ message: 'error 0', i: 0 });
  });
});
