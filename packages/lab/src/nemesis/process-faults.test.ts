import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stateWithin } from './process-faults.js';

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
