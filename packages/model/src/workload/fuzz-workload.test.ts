import { describe, expect, it } from 'vitest';
import { EventType } from '@chaos-lab/contracts';
import { planFuzzWorkload } from './fuzz-workload.js';
import { InvalidArgumentError } from '@chaos-lab/errors';

const base = { batches: 40, slotsPerBatch: 4, idPrefix: 's1', timeoutBatches: 2, hostile: 5 } as const;

describe('planFuzzWorkload', () => {
  it('registers about half of the ordinary batches with a far deadline, and the deadline batches with theirs', () => {
    const plan = planFuzzWorkload(1, base);
    const regs = plan.publishes.filter((p) => p.event?.event_type === EventType.BatchRegistered);
    const ordinary = regs.filter((p) => p.role === 'registration' || p.role === 'late-registration');
    const far = ordinary.filter((p) => p.deadlineInMs === 600_000);
    expect(ordinary.length).toBeGreaterThanOrEqual(40);
    expect(far.length).toBeGreaterThan(ordinary.length * 0.3);
    expect(far.length).toBeLessThan(ordinary.length * 0.7);
    expect(ordinary.filter((p) => p.deadlineInMs !== undefined && p.deadlineInMs !== 600_000)).toEqual([]);
    const deadline = regs.filter((p) => p.role === 'deadline-registration');
    expect(deadline.map((p) => p.deadlineInMs)).toEqual([3000, 3000]);
  });

  it('draws the far deadlines from their own stream: the publishes are otherwise those of no far deadlines', () => {
    const strip = (ps: ReturnType<typeof planFuzzWorkload>['publishes']) =>
      ps.map((p) => (p.role === 'deadline-registration' ? p : { ...p, deadlineInMs: undefined }));
    expect(strip(planFuzzWorkload(7, base).publishes)).toEqual(
      strip(planFuzzWorkload(7, { ...base, farDeadlineRatio: 0 }).publishes),
    );
    expect(
      planFuzzWorkload(7, { ...base, farDeadlineRatio: 0 }).publishes.some((p) => p.deadlineInMs === 600_000),
    ).toBe(false);
  });

  it('names a bad option and its value', () => {
    expect(() => planFuzzWorkload(1, { ...base, farDeadlineRatio: 2 })).toThrow(InvalidArgumentError);
    expect(() => planFuzzWorkload(1, { ...base, farDeadlineMs: 5 })).toThrow(/farDeadlineMs/);
  });
});
