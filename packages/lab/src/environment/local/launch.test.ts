/**
 * The port retry rule: a fresh port per attempt, at most three attempts, and
 * never a different port than the one the caller asked for.
 */
import { describe, expect, it } from 'vitest';
import { ProviderStartError } from '../../errors.js';
import { MAX_PORT_ATTEMPTS, PORT_IN_USE, withPortRetry } from './launch.js';

describe('withPortRetry', () => {
  it('retries a taken port with a fresh one, at most three times', async () => {
    const ports: number[] = [];
    const ok = await withPortRetry('x', undefined, async (port) => {
      ports.push(port);
      return ports.length < 3 ? PORT_IN_USE : `up on ${port}`;
    });
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(3);
    expect(ok).toBe(`up on ${ports[2]}`);

    let attempts = 0;
    const err = await withPortRetry('x', undefined, async () => {
      attempts++;
      return PORT_IN_USE;
    }).catch((e: unknown) => e);
    expect(attempts).toBe(MAX_PORT_ATTEMPTS);
    expect(err).toBeInstanceOf(ProviderStartError);
    expect((err as ProviderStartError).retriable).toBe(true);
  });

  it('never replaces a port the caller asked for', async () => {
    const ports: number[] = [];
    const err = await withPortRetry('x', 4242, async (port) => {
      ports.push(port);
      return PORT_IN_USE;
    }).catch((e: unknown) => e);
    expect(ports).toEqual([4242]);
    expect((err as Error).message).toMatch(/port 4242 .*already in use/);
  });
});
