import { describe, expect, it } from 'vitest';
import { inputTopics } from '@chaos-lab/contracts';
import { compileScenario } from '../definition.js';
import { BROKER_IDS, planOf, planSeed, seedIdPrefix, TOPIC_PREFIX } from './plan.js';
import { small } from './fixtures.test-support.js';

describe('plan stage', () => {
  const def = compileScenario(small);

  it('is a pure function of the seed: the same seed gives the same workload and faults', () => {
    const a = planSeed(def, 5, 'local');
    expect(JSON.stringify(planSeed(def, 5, 'local'))).toBe(JSON.stringify(a));
    expect(JSON.stringify(planSeed(def, 6, 'local').plan.publishes)).not.toBe(JSON.stringify(a.plan.publishes));
    expect(a.plan.publishes.length).toBeGreaterThan(0);
    expect(a.faults).toHaveLength(2);
  });

  it('names the instances, the topics and the ids of the seed', () => {
    const p = planSeed(def, 5, 'local');
    expect(p.instanceIds).toEqual(['coordinator-1', 'coordinator-2']);
    expect(p.prefix).toBe(TOPIC_PREFIX);
    expect(p.partitions).toBe(3);
    expect(inputTopics(p.topics).every((t) => t.startsWith(TOPIC_PREFIX))).toBe(true);
    expect(seedIdPrefix(5)).toBe('s5');
    for (const pub of p.plan.publishes)
      if (pub.event && 'batch_id' in pub.event.data) expect(pub.event.data.batch_id.startsWith('s5')).toBe(true);
    for (const f of p.faults) expect(p.instanceIds).toContain((f.spec as { target: string }).target);
    expect(BROKER_IDS).toEqual([1, 2, 3]);
  });

  it('draws the faults from their own stream: the workload does not depend on them', () => {
    const without = planSeed(compileScenario({ ...small, faults: undefined }), 5, 'local');
    expect(without.faults).toEqual([]);
    expect(JSON.stringify(without.plan)).toBe(JSON.stringify(planSeed(def, 5, 'local').plan));
  });

  it('plans a raw definition as its compiled form', () => {
    expect(JSON.stringify(planOf(small, 9, 'local'))).toBe(JSON.stringify(planSeed(def, 9, 'local')));
  });
});
