import { describe, expect, it } from 'vitest';
import { planOf } from '@chaos-lab/lab';
import { scenario } from './index.js';

describe(`${scenario.name}: plan`, () => {
  it('is the same for the same seed (workload and faults), and differs for another seed', () => {
    const a = planOf(scenario, 17);
    expect(JSON.stringify(planOf(scenario, 17))).toBe(JSON.stringify(a));
    expect(JSON.stringify(planOf(scenario, 18).plan.publishes)).not.toBe(JSON.stringify(a.plan.publishes));
    expect(a.plan.publishes.length).toBeGreaterThan(0);
  });
});
