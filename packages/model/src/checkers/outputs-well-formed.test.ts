import { describe, expect, it } from 'vitest';
import { checkOutputsWellFormed, outputsWellFormed } from './outputs-well-formed.js';
import { TOPICS, correctRun, ev, input } from './test-support.js';

describe('outputs-well-formed', () => {
  it('accepts a correct run', () => {
    expect(outputsWellFormed(correctRun().input)).toMatchObject({
      checker: 'outputs-well-formed',
      valid: true,
      errorCount: 0,
    });
  });

  it('finds an event id that is not the derived one, and an output that is not a contract event', () => {
    const lab = correctRun();
    lab.observe(ev.slotAssigned('b-2', 'e-5', 't-5', 't-5.txt', '0b9f4a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b'));
    const wrongIdAt = lab.lastTime;
    lab.observeRaw('{"event_type":"essay.slot.assigned.v1"}', TOPICS.slotAssigned);
    const v = checkOutputsWellFormed(lab.input);
    expect(v.errors.map((e) => e.time)).toEqual([lab.lastTime, wrongIdAt]);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(2);
    expect(v.errors[0]?.message).toBe(
      'output at essay.slot.assigned/0@4 is not a contract event: "{\\"event_type\\":\\"essay.slot.assigned.v1\\"}"',
    );
    expect(v.errors[1]?.message).toMatch(
      /^slot-assigned event of content t-5 of batch b-2 has id 0b9f4a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b, expected the derived id [0-9a-f-]{36}$/,
    );
  });

  it("takes a parked input's derived id for a dead letter without a source position, and nothing else", () => {
    const lab = correctRun();
    lab.publish(input.content('b-8', 't-8'));
    lab.observe(ev.orphanDeadLetter('b-8', { kind: 'content', inputKey: 't-8' }));
    expect(checkOutputsWellFormed(lab.input).errors).toEqual([]);
    lab.observe(ev.orphanDeadLetter('b-8', { kind: 'content', inputKey: 't-never-published' }));
    expect(checkOutputsWellFormed(lab.input).errors.map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^dead letter [0-9a-f-]{36} of a parked input of batch b-8 \(no source position\) has no published input's derived id$/,
      ),
    ]);
  });
});
