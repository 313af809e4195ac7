import { describe, expect, it } from 'vitest';
import { HistoryRecorder } from '../history/history.js';
import { checkFaultsTookEffect } from './faults-took-effect.js';

const final = { postgres: { batches: [], slots: [], excess: [], pending: [] }, redis: { batches: [] } };

describe('faults-took-effect', () => {
  it('passes when every fault shows evidence, and with no faults at all', () => {
    const r = new HistoryRecorder();
    expect(checkFaultsTookEffect({ history: r.entries, final })).toMatchObject({ valid: true, stats: { faults: 0 } });
    r.nemesis('start', 'kill', { target: 'coordinator-1', detail: { label: 'kill -9 coordinator-1' } });
    r.nemesis('end', 'kill', { target: 'coordinator-1', detail: { label: 'kill -9 coordinator-1', tookEffect: true } });
    expect(checkFaultsTookEffect({ history: r.entries, final })).toMatchObject({
      valid: true,
      stats: { faults: 1, effective: 1 },
    });
  });

  it('counts apart a fault whose trigger never came, and fails one that had it and did nothing', () => {
    const r = new HistoryRecorder();
    const label = 'crash at after-commit-before-offset #2, coordinator-1';
    r.nemesis('start', 'commit-boundary-crash', { target: 'coordinator-1', detail: { label } });
    r.nemesis('end', 'commit-boundary-crash', {
      target: 'coordinator-1',
      detail: { label, tookEffect: false, failpointReached: false, consumed: 1, noOpportunity: true },
    });
    expect(checkFaultsTookEffect({ history: r.entries, final })).toMatchObject({
      valid: true,
      stats: { faults: 1, effective: 0, noOpportunity: 1 },
    });
    r.nemesis('start', 'commit-boundary-crash', { target: 'coordinator-1', detail: { label } });
    r.nemesis('end', 'commit-boundary-crash', {
      target: 'coordinator-1',
      detail: { label, tookEffect: false, failpointReached: false, consumed: 9 },
    });
    expect(checkFaultsTookEffect({ history: r.entries, final }).valid).toBe(false);
  });

  it('fails on a fault that showed no effect, naming it', () => {
    const r = new HistoryRecorder();
    r.nemesis('start', 'link-toxic', { target: 'all', detail: { label: 'latency {"latency":200} redis@all' } });
    r.nemesis('end', 'link-toxic', {
      target: 'all',
      detail: { label: 'latency {"latency":200} redis@all', tookEffect: false, probe: { ok: true, ms: 1 } },
    });
    const v = checkFaultsTookEffect({ history: r.entries, final });
    expect(v.valid).toBe(false);
    expect(v.firstError?.message).toMatch(/^fault "latency \{"latency":200\} redis@all" showed no effect/);
  });

  it('fails on a fault that could not start, and on one never ended', () => {
    const r = new HistoryRecorder();
    r.nemesis('start', 'broker-down', { detail: { label: 'kafka broker 9 down' } });
    r.nemesis('end', 'broker-down', {
      detail: { label: 'kafka broker 9 down', tookEffect: false, error: 'broker: one of 1, 2, 3 (got 9)' },
    });
    r.nemesis('start', 'pause', { target: 'coordinator-2', detail: { label: 'pause coordinator-2' } });
    const v = checkFaultsTookEffect({ history: r.entries, final });
    expect(v.errorCount).toBe(2);
    expect(v.errors[0]?.message).toContain('broker: one of 1, 2, 3 (got 9)');
    expect(v.errors[1]?.message).toBe('2 faults started but 1 ended');
  });
});
