/**
 * Process-wide cleanup registry: every child process and temporary directory
 * the lab creates is registered here and released on every exit path — a
 * normal end (the owner disposes it), an uncaught error, SIGINT, SIGTERM,
 * SIGHUP, or the reader of our stdout/stderr going away (EPIPE: the parent,
 * `lab run --all` or turbo, was killed).
 *
 * Signals: the first SIGINT/SIGTERM/SIGHUP runs every cleanup (children
 * first, then directories) and raises the signal again with its default
 * action; a second one while cleanup runs forces the exit after a
 * synchronous SIGKILL of every child still known and a synchronous removal
 * of every directory still registered.
 *
 * Three rules make that hold when the signal comes in the middle of a start:
 *  - an entry leaves the registry only once its cleanup has run, so the
 *    forced path of a second signal still sees everything not yet released;
 *  - cleanups registered while the cleanup runs (a start that was under way:
 *    a folder whose mkdtemp was in flight, a copy that had begun) are run
 *    too, until the registry is empty — only then is the signal re-raised;
 *  - from the first signal on, nothing new may start ({@link isExiting}).
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

/**
 * Runs every registered cleanup, most recent first, until none is left
 * (including those registered meanwhile). Each stays registered until it has
 * run, so that a forced exit meanwhile still releases it.
 */
export async function runAllCleanups(): Promise<void> {
  const done = new Set<Cleanup>();
  for (;;) {
    const c = [...cleanups].reverse().find((x) => !done.has(x));
    if (c === undefined) break;
    done.add(c);
    try {
      await c.run();
    } catch (err) {
      say(`lab: cleanup of ${c.name} failed: ${String(err)}\n`);
    } finally {
      cleanups.delete(c);
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

/** A line for whoever reads our stderr; nobody may be left to read it, and that must not stop the cleanup. */
function say(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // the reader is gone
  }
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
    say(`lab: ${signal} received, stopping every process the lab started\n`);
    void runAllCleanups().finally(() => reraise(signal));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const h = () => onSignal(sig);
    handlers.set(sig, h);
    process.on(sig, h);
  }
  // Our reader is gone (the parent was killed and its end of the pipe closed): Node ignores SIGPIPE, so the
  // write fails with EPIPE, and unhandled that error would end the process on the synchronous path only. Nobody
  // waits for our output any more: clean up as on SIGTERM, then end with the code a shell gives to SIGPIPE.
  const onStdioError = () => {
    if (exiting) return;
    exiting = true;
    void runAllCleanups().finally(() => process.exit(128 + 13));
  };
  process.stdout.on('error', onStdioError);
  process.stderr.on('error', onStdioError);
  // Last resort: whatever is still registered when the process exits is killed synchronously.
  process.on('exit', () => killAllSync());
}
