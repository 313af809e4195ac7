/**
 * Shared start-up plumbing for the environment servers: finding a binary,
 * spawning it as a ManagedProcess, waiting for a real readiness probe, and
 * retrying when the port was taken between choosing it and binding it.
 *
 * A failed start never leaves a process behind and always says why, with the
 * last lines of the server's own log in the error.
 */
import { accessSync, constants } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { ManagedProcess, type ManagedProcessOptions } from '../../process/managed-process.js';
import { freePort } from '../../process/ports.js';
import { InvalidArgumentError, LabTimeoutError, ProviderStartError } from '../../errors.js';

/** The host every lab server binds to. */
export const LOOPBACK = '127.0.0.1';

/** Path of an executable: `name` itself when it contains a slash, else the first match in `dirs` (default $PATH). */
export function findExecutable(name: string, dirs?: readonly string[]): string | undefined {
  const candidates = name.includes('/')
    ? [name]
    : (dirs ?? (process.env.PATH ?? '').split(delimiter)).filter((d) => isAbsolute(d)).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Validates an optional TCP port option. */
export function checkPort(port: number | undefined): void {
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    throw new InvalidArgumentError('port', port, 'an integer from 1 to 65535');
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
  try {
    return (await readFile(path)).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/** Returned by {@link launchServer} when the server could not bind its port because it is in use. */
export const PORT_IN_USE: unique symbol = Symbol('port in use');

export interface LaunchOptions {
  /** Component name for errors (`redis`, `postgres`). */
  readonly component: string;
  readonly spawn: ManagedProcessOptions;
  /** What readiness means, for messages ("INFO answered by our pid"). */
  readonly readyWhat: string;
  /** Readiness probe; a rejection counts as "not yet". */
  readonly ready: (proc: ManagedProcess) => Promise<boolean>;
  readonly timeoutMs: number;
  /** Kills the server (and any helper processes) when the start fails while it still runs. */
  readonly killAll: (proc: ManagedProcess) => Promise<void>;
}

/**
 * Spawns the server and waits for `ready`. Returns the running process, or
 * {@link PORT_IN_USE} when it exited because its port was taken (the log
 * says "Address already in use", for redis and PostgreSQL alike). Any other
 * failure is a ProviderStartError carrying the tail of the server log.
 */
export async function launchServer(opts: LaunchOptions): Promise<ManagedProcess | typeof PORT_IN_USE> {
  const logFile = opts.spawn.logFile;
  const offset = await fileSize(logFile);
  const proc = await ManagedProcess.spawn(opts.spawn);
  try {
    await proc.waitUntil(opts.readyWhat, () => opts.ready(proc), opts.timeoutMs, 10);
    return proc;
  } catch (err) {
    if (proc.running) await opts.killAll(proc);
    const exit = await proc.stop(); // already exited: this only flushes the log
    const log = await readFrom(logFile, offset);
    if (/Address already in use/i.test(log)) return PORT_IN_USE;
    const timedOut = err instanceof LabTimeoutError;
    const detail = timedOut
      ? `no ${opts.readyWhat} within ${opts.timeoutMs} ms`
      : `exited (code ${exit.code}, signal ${exit.signal}) before ${opts.readyWhat}`;
    throw new ProviderStartError(opts.component, `${detail}; last log lines:\n${lastLines(log, 8)}\n`, {
      logFile,
      retriable: timedOut,
      cause: err,
    });
  }
}

/**
 * A port picked by `freePort()` can be taken by another process before the
 * server binds it. That is the one legitimate retry here: at most
 * MAX_PORT_ATTEMPTS = 3 attempts, each with a fresh port. A port the caller
 * asked for explicitly is never replaced.
 */
export const MAX_PORT_ATTEMPTS = 3;

export async function withPortRetry<T>(
  component: string,
  explicitPort: number | undefined,
  attempt: (port: number) => Promise<T | typeof PORT_IN_USE>,
): Promise<T> {
  const tried: number[] = [];
  for (let i = 0; i < MAX_PORT_ATTEMPTS; i++) {
    const port = explicitPort ?? (await freePort());
    tried.push(port);
    const r = await attempt(port);
    if (r !== PORT_IN_USE) return r;
    if (explicitPort !== undefined) {
      throw new ProviderStartError(component, `port ${port} on ${LOOPBACK} is already in use`, { retriable: true });
    }
  }
  throw new ProviderStartError(
    component,
    `the chosen port was taken before the server could bind it, ${MAX_PORT_ATTEMPTS} times (ports ${tried.join(', ')})`,
    { retriable: true },
  );
}

/** Serialises async operations on one server (start/stop/restart/kill never interleave). */
export class OperationQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.tail.then(op, op);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
