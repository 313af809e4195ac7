import { afterEach, describe, expect, it, vi } from 'vitest';
import { secondsLeft, withCountdown } from './progress.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('withCountdown', () => {
  it('says how long is left of the bound every period while the work lasts, and nothing after', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const lines: string[] = [];
    const work = new Promise<string>((r) => setTimeout(() => r('done'), 13_000));
    const counted = withCountdown(work, {
      progress: (l) => lines.push(l),
      boundMs: 12_000,
      line: (left) => `waiting: ${secondsLeft(left)} left`,
    });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(await counted).toBe('done');
    // Every 5 s: at 5 s (7 s left), at 10 s (2 s left); past the bound at 13 s the work ended first.
    expect(lines).toEqual(['waiting: 7 s left', 'waiting: 2 s left']);
  });

  it('passes a failure through and stops', async () => {
    const lines: string[] = [];
    const work = new Promise((_, reject) => setTimeout(() => reject(new Error('no')), 10));
    await expect(
      withCountdown(work, { progress: (l) => lines.push(l), boundMs: 1000, everyMs: 5, line: () => 'x' }),
    ).rejects.toThrow('no');
    const n = lines.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(lines).toHaveLength(n);
  });

  it('without a sink, awaits the work and says nothing', async () => {
    const work = new Promise<string>((r) => setTimeout(() => r('done'), 20));
    expect(await withCountdown(work, { progress: undefined, boundMs: 1000, everyMs: 5, line: () => 'x' })).toBe('done');
  });

  it('rounds the time left up to whole seconds, never below zero', () => {
    expect([secondsLeft(59_001), secondsLeft(1), secondsLeft(0), secondsLeft(-5000)]).toEqual([
      '60 s',
      '1 s',
      '0 s',
      '0 s',
    ]);
  });
});
