import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  commitCrashJudgement,
  killTookEffect,
  pauseTookEffect,
  restartTookEffect,
  rollingRestartTookEffect,
  rollingUpgradeTookEffect,
  stateWithin,
} from './process-faults.js';

describe('stateWithin', () => {
  it('sees a stopped process as "T", and gives the last state read when the wanted one does not come', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    try {
      child.kill('SIGSTOP');
      expect(await stateWithin(child.pid, 'T', 2000)).toBe('T');
      child.kill('SIGCONT');
      const t0 = Date.now();
      const state = await stateWithin(child.pid, 'T', 150);
      expect(state).toMatch(/^[RS]$/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await stateWithin(999_999_999, 'T', 50)).toBeUndefined();
  });
});

describe('how the process faults judge their evidence', () => {
  it('kill: the instance died of SIGKILL, not of anything else', () => {
    expect(killTookEffect({ signal: 'SIGKILL' })).toBe(true);
    expect(killTookEffect({ signal: 'SIGTERM' })).toBe(false);
    // Exited on its own (code, no signal): not the kill.
    expect(killTookEffect({ signal: null })).toBe(false);
  });

  it('pause: the process was seen stopped; running, sleeping or gone is no effect', () => {
    expect(pauseTookEffect('T')).toBe(true);
    for (const state of ['R', 'S', 'D', 't', undefined]) expect(pauseTookEffect(state), String(state)).toBe(false);
  });

  it('restart: a clean exit and a new process', () => {
    expect(restartTookEffect(0, 100, 200)).toBe(true);
    // The stop ended in SIGKILL (no code), or failed.
    expect(restartTookEffect(null, 100, 200)).toBe(false);
    expect(restartTookEffect(1, 100, 200)).toBe(false);
    // Same process: it never went down.
    expect(restartTookEffect(0, 100, 100)).toBe(false);
    expect(restartTookEffect(0, undefined, 200)).toBe(true);
  });

  it('rolling restart: every instance in a new process, not most of them', () => {
    expect(rollingRestartTookEffect([1, 2, 3], [4, 5, 6])).toBe(true);
    expect(rollingRestartTookEffect([1, 2, 3], [4, 2, 6])).toBe(false);
    expect(rollingRestartTookEffect([1, 2, 3], [4, 5, undefined])).toBe(true);
    expect(rollingRestartTookEffect([], [])).toBe(true);
  });

  it('rolling upgrade: every instance moved, in a new process, from another build onto the new one', () => {
    const before = [
      { pid: 1, entry: 'old.js' },
      { pid: 2, entry: 'old.js' },
    ];
    expect(
      rollingUpgradeTookEffect(
        before,
        [
          { pid: 3, entry: 'new.js' },
          { pid: 4, entry: 'new.js' },
        ],
        'new.js',
      ),
    ).toBe(true);
    // One still on the old build, one in its old process, or instances already on the new build before.
    expect(
      rollingUpgradeTookEffect(
        before,
        [
          { pid: 3, entry: 'new.js' },
          { pid: 4, entry: 'old.js' },
        ],
        'new.js',
      ),
    ).toBe(false);
    expect(
      rollingUpgradeTookEffect(
        before,
        [
          { pid: 3, entry: 'new.js' },
          { pid: 2, entry: 'new.js' },
        ],
        'new.js',
      ),
    ).toBe(false);
    const already = before.map((b) => ({ ...b, entry: 'new.js' }));
    expect(
      rollingUpgradeTookEffect(
        already,
        [
          { pid: 3, entry: 'new.js' },
          { pid: 4, entry: 'new.js' },
        ],
        'new.js',
      ),
    ).toBe(false);
  });

  it('commit-boundary crash: a SIGKILL exit is the fail-point; too few inputs to reach it is no opportunity', () => {
    expect(commitCrashJudgement({ signal: 'SIGKILL' }, undefined, 2)).toEqual({
      tookEffect: true,
      noOpportunity: false,
    });
    // Crashed otherwise: no effect, and nothing said of the opportunity.
    expect(commitCrashJudgement({ signal: 'SIGSEGV' }, undefined, 2)).toEqual({
      tookEffect: false,
      noOpportunity: false,
    });
    // Did not crash: consumed fewer than nth → no opportunity; nth or more → it had one and did nothing.
    expect(commitCrashJudgement(undefined, 1, 2)).toEqual({ tookEffect: false, noOpportunity: true });
    expect(commitCrashJudgement(undefined, 2, 2)).toEqual({ tookEffect: false, noOpportunity: false });
    expect(commitCrashJudgement(undefined, 0, 1)).toEqual({ tookEffect: false, noOpportunity: true });
    // Not running to say what it consumed.
    expect(commitCrashJudgement(undefined, undefined, 2)).toEqual({ tookEffect: false, noOpportunity: false });
  });
});
