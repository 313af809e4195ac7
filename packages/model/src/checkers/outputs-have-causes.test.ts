import { describe, expect, it } from 'vitest';
import { checkOutputsHaveCauses, outputsHaveCauses } from './outputs-have-causes.js';
import { runCheckers, runOnlineCheckers, defaultCheckers } from './run.js';
import { correctRun, ev, input } from './test-support.js';

describe('outputs-have-causes', () => {
  it('accepts a correct run, online and at the end', () => {
    const lab = correctRun();
    expect(outputsHaveCauses(lab.input)).toMatchObject({ checker: 'outputs-have-causes', valid: true, errorCount: 0 });
    expect(outputsHaveCauses(lab.input).stats.withCause).toBe(6);
    expect(runOnlineCheckers(lab.input.history).find((v) => v.checker === 'outputs-have-causes')?.valid).toBe(true);
    expect(defaultCheckers.map((c) => c.id)).toContain('outputs-have-causes');
  });

  it('finds an assignment of a content never published, and a ready batch never registered', () => {
    const lab = correctRun();
    lab.observe(ev.slotAssigned('b-1', 'e-3', 't-never'));
    lab.observe(ev.ready('b-7', []));
    const v = checkOutputsHaveCauses(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^slot assignment of content t-never in batch b-1 observed at \d+ ms, but its cause was never published$/,
      ),
      expect.stringMatching(/^batch\.ready of batch b-7 observed at \d+ ms, but its cause was never published$/),
    ]);
    expect(v.errors[0]).toMatchObject({ batch_id: 'b-1', text_storage_id: 't-never', cause_ms: null });
  });

  it('finds an output observed before its cause was published (a content of another batch does not count)', () => {
    const lab = correctRun();
    lab.observe(ev.excess('b-2', 't-late', 'batch_closed'));
    lab.publish(input.content('b-2', 't-late'));
    lab.publish(input.content('b-1', 't-late'));
    const v = checkOutputsHaveCauses(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.errors[0]?.message).toMatch(
      /^excess report of content t-late in batch b-2 observed at (\d+) ms, before its cause was published \(\d+ ms\)$/,
    );
    const { observed_ms, cause_ms } = v.errors[0] as unknown as { observed_ms: number; cause_ms: number };
    expect(cause_ms).toBeGreaterThan(observed_ms);
  });

  it('takes a cause published as raw bytes that name the batch and the content', () => {
    const lab = correctRun();
    lab.publish({ raw: JSON.stringify(input.content('b-2', 't-raw')) });
    lab.observe(ev.excess('b-2', 't-raw', 'batch_closed'));
    expect(checkOutputsHaveCauses(lab.input).errors).toEqual([]);
  });

  it('is one row of the default table', () => {
    const verdicts = runCheckers(correctRun().input);
    expect(verdicts.filter((v) => v.checker === 'outputs-have-causes')).toHaveLength(1);
  });
});
