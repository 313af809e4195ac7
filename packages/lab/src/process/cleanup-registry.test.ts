/**
 * The registry itself, in this process (cleanup.test.ts ends real lab processes): cleanups run newest first, and
 * one registered while the cleanup runs — a start that was under way when the signal came — is run in the same
 * pass, not left behind when the signal is raised again.
 */
import { describe, expect, it } from 'vitest';
import { registerCleanup, runAllCleanups } from './cleanup.js';

describe('runAllCleanups', () => {
  it('runs newest first, and runs what is registered while it runs', async () => {
    const order: string[] = [];
    registerCleanup({
      name: 'work dir',
      run: async () => void order.push('work dir'),
    });
    registerCleanup({
      name: 'start under way',
      run: async () => {
        order.push('start under way');
        // A server whose spawn was in flight registers now; it must be stopped before the work dir goes.
        registerCleanup({ name: 'late server', run: async () => void order.push('late server') });
      },
    });
    await runAllCleanups();
    expect(order).toEqual(['start under way', 'late server', 'work dir']);
    await runAllCleanups();
    expect(order).toHaveLength(3);
  });

  it('an unregistered cleanup does not run', async () => {
    const order: string[] = [];
    const unregister = registerCleanup({ name: 'released', run: async () => void order.push('released') });
    unregister();
    await runAllCleanups();
    expect(order).toEqual([]);
  });
});
