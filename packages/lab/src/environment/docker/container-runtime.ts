/** The container runtime, asked once, and the waits the containers' servers share. */
import { connect } from 'node:net';
import { getContainerRuntimeClient } from 'testcontainers';
import type { ContainerRuntimeClient } from 'testcontainers';
import { LabTimeoutError } from '../../errors.js';
import { NoContainerRuntimeError, firstLine } from './docker-errors.js';

/**
 * Resolves with the runtime client, or rejects with a one-line
 * {@link NoContainerRuntimeError} when none answers within `timeoutMs`.
 */
export async function requireContainerRuntime(timeoutMs = 5_000): Promise<ContainerRuntimeClient> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LabTimeoutError('an answer from the container runtime', timeoutMs)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([getContainerRuntimeClient(), timeout]);
  } catch (err) {
    throw new NoContainerRuntimeError(firstLine(err), { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (performance.now() > deadline) throw new LabTimeoutError(what, timeoutMs);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => (s.destroy(), resolve(false)), 1_000);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(true)));
    s.once('error', () => (clearTimeout(t), resolve(false)));
  });
}
