/**
 * Process-wide cleanup registry: every child process and temporary directory
 * the lab creates is registered here and released on every exit path — a
 * normal end (the owner disposes it), an uncaught error, SIGINT or SIGTERM.
 *
 * Signals: the first SIGINT/SIGTERM runs every cleanup (children first, then
 * directories) and raises the signal again with its default action; a second one while cleanup
 * runs forces the exit after a synchronous SIGKILL of every child still known.
 */
import { rmSync } from 'node:fs';

type Cleanup = { readonly name: string; run(): Promise<void>; killSync?(): void };

const cleanups = new Set<Cleanup>();
let installed = false;
let exiting = false;

/**
 * True once a signal started the cleanup: from then on nothing may start a
 * new process (a fault ending at that moment would otherwise restart an
 * instance after its cleanup ran, and it would outlive the lab).
 */
export function isExiting(): boolean {
  return exiting;
}

/** Registers a cleanup; returns a function that unregisters it (call it once the resource is released). */
export function registerCleanup(c: Cleanup): () => void {
  install();
  cleanups.add(c);
  return () => cleanups.delete(c);
}

/** Registers a directory to delete on exit. */
export function registerTempDir(path: string): () => void {
  return registerCleanup({
    name: `dir ${path}`,
    run: async () => rmSync(path, { recursive: true, force: true }),
    killSync: () => rmSync(path, { recursive: true, force: true }),
  });
}

/** Runs every registered cleanup, most recent first. */
export async function runAllCleanups(): Promise<void> {
  const list = [...cleanups].reverse();
  cleanups.clear();
  for (const c of list) {
    try {
      await c.run();
    } catch (err) {
      process.stderr.write(`lab: cleanup of ${c.name} failed: ${String(err)}\n`);
    }
  }
}

function killAllSync(): void {
  for (const c of [...cleanups].reverse()) {
    try {
      c.killSync?.();
    } catch {
      // best effort on the way out
    }
  }
  cleanups.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  const handlers = new Map<NodeJS.Signals, () => void>();
  // After cleanup the signal is raised again with the default action restored,
  // so the process ends the way a shell (or a test runner) expects.
  const reraise = (signal: NodeJS.Signals) => {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
    process.kill(process.pid, signal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (exiting) {
      killAllSync();
      reraise(signal);
      return;
    }
    exiting = true;
    if (cleanups.size === 0) return reraise(signal);
    process.stderr.write(`lab: ${signal} received, stopping every process the lab started\n`);
    void runAllCleanups().finally(() => reraise(signal));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const h = () => onSignal(sig);
    handlers.set(sig, h);
    process.on(sig, h);
  }
  // Last resort: whatever is still registered when the process exits is killed synchronously.
  process.on('exit', () => killAllSync());
}
