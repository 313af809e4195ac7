import { describe, expect, it } from 'vitest';
import { topics } from '@chaos-lab/contracts';
import { planAssignmentWorkload } from './assignment-workload.js';
import { steadyWorkload } from './steady-workload.js';

describe('steadyWorkload', () => {
  it('is planAssignmentWorkload with 15 batches of 10 slots and bursts of 6, placed where it is told', () => {
    const where = { partitions: 4, idPrefix: 's3', topics: topics('lab.x') };
    for (const seed of [1, 2, 99])
      expect(JSON.stringify(steadyWorkload(seed, where))).toBe(
        JSON.stringify(planAssignmentWorkload(seed, { batches: 15, slotsPerBatch: 10, burstCopies: 6, ...where })),
      );
    expect(steadyWorkload(1, where).options).toMatchObject({ batches: 15, slotsPerBatch: 10, burstCopies: 6 });
    expect(JSON.stringify(steadyWorkload(2, where))).not.toBe(JSON.stringify(steadyWorkload(1, where)));
  });
});
