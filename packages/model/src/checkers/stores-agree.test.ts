import { describe, expect, it } from 'vitest';
import { checkStoresAgree, storesAgree } from './stores-agree.js';
import { correctRun } from './test-support.js';

describe('stores-agree', () => {
  it('accepts a correct run, and a batch missing from the cache', () => {
    const lab = correctRun();
    expect(storesAgree(lab.input)).toMatchObject({ checker: 'stores-agree', valid: true, errorCount: 0 });
    lab.evict('b-2');
    const v = checkStoresAgree(lab.input);
    expect(v.valid).toBe(true);
    expect(v.stats).toEqual({ redisBatches: 1, postgresBatches: 2, agreeing: 1, notCached: 1 });
  });

  it('finds a Redis assign map that disagrees with Postgres', () => {
    const lab = correctRun();
    lab.redis('b-1').assign['t-1'] = 'e-2';
    const v = checkStoresAgree(lab.input);
    expect(v.valid).toBe(false);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe('batch b-1: Redis assign maps content t-1 → e-2 but Postgres has t-1 → e-1');
    expect(v.firstError).toMatchObject({ field: 'assign', fields: ['assign'] });
  });

  it('finds an assignment missing from Redis and one Postgres does not have', () => {
    const lab = correctRun();
    delete lab.redis('b-1').assign['t-2'];
    lab.redis('b-2').assign['t-99'] = 'e-5';
    const v = checkStoresAgree(lab.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      'batch b-1: Postgres maps content t-2 → e-2 but Redis assign has no entry for it',
      'batch b-2: Redis assign maps content t-99 → e-5 but Postgres has no such assignment',
    ]);
  });

  it('reports the first differing field (status) and lists all of them', () => {
    const lab = correctRun();
    lab.redis('b-1').status = 'open';
    lab.redis('b-1').failed = {};
    const v = checkStoresAgree(lab.input);
    expect(v.errorCount).toBe(1);
    expect(v.firstError?.message).toBe('batch b-1: status is open in Redis but ready in Postgres');
    expect(v.firstError).toMatchObject({ field: 'status', fields: ['status', 'failed'] });
  });

  it('finds free sets, failed maps and excess sets that differ', () => {
    const lab = correctRun();
    lab.redis('b-2').free = [];
    lab.redis('b-1').failed['f-1.txt'] = 'e-1';
    lab.redis('b-1').excess = [];
    const v = checkStoresAgree(lab.input);
    expect(v.errors.map((e) => e.message)).toEqual([
      'batch b-1: Redis failed maps failure f-1.txt → e-1 but Postgres has f-1.txt → e-3',
      'batch b-2: Redis free set lacks essay e-5 which Postgres has',
    ]);
    expect(v.errors[0]).toMatchObject({ fields: ['failed', 'excess'] });
  });

  it('finds a cached batch Postgres does not know', () => {
    const lab = correctRun();
    lab.final.redis.batches.push({ batch_id: 'b-ghost', status: 'open', free: ['e-1'], assign: {}, failed: {} });
    const v = checkStoresAgree(lab.input);
    expect(v.firstError?.message).toBe('batch b-ghost is in Redis but not in Postgres');
  });
});
