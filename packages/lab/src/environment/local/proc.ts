/**
 * Linux /proc helpers shared by the environment servers and the stale-work-dir
 * reaper.
 *
 * Why /proc rather than process handles: the servers the lab starts are not
 * always single processes (PostgreSQL forks a checkpointer, a WAL writer,
 * one backend per connection…), and after the lab itself dies they are no
 * longer our children at all. What stays true is that every one of them has
 * its working directory inside the server's data directory and runs the
 * server's executable, so "cwd under DIR and /proc/PID/exe is BINARY" finds
 * them without guessing from names. A process is identified by its pid AND
 * its kernel start time, so a recycled pid is never mistaken for ours.
 *
 * Zombies count as gone: on this kind of machine PID 1 may reap orphans late,
 * and a zombie holds no port, memory or file.
 */
import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { sep } from 'node:path';

/** Fields of /proc/PID/stat we use; undefined when there is no such process. */
function readStat(pid: number): { state: string; ppid: number; startTime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const ppid = Number(rest[1]);
  const startTime = Number(rest[19]); // field 22: start time in clock ticks after boot
  if (state === undefined || !Number.isFinite(startTime)) return undefined;
  return { state, ppid, startTime };
}

/** True when the process exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  const st = readStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** Kernel start time of a process (clock ticks after boot); stable for the process' whole life. */
export function processStartTime(pid: number): number | undefined {
  return readStat(pid)?.startTime;
}

/** argv of a process as the kernel shows it now (some servers rewrite it, e.g. redis). */
export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s) => s.length > 0);
  } catch {
    return undefined;
  }
}

/** Sends a signal; a process that is already gone is not an error. Returns whether it was delivered. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw err;
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Live processes whose working directory is `dir` or inside it and whose
 * executable is one of `executables` (compared after resolving symlinks, so
 * `/usr/bin/redis-server` matches the `/usr/bin/redis-check-rdb` it links to).
 */
export function findProcessesInDir(dir: string, executables: readonly string[]): number[] {
  const root = realpathOr(dir);
  const exes = new Set(executables.map(realpathOr));
  const found: number[] = [];
  for (const pid of otherPids()) {
    const name = String(pid);
    try {
      // A deleted cwd reads as "<path> (deleted)".
      const cwd = readlinkSync(`/proc/${name}/cwd`).replace(/ \(deleted\)$/, '');
      if (cwd !== root && !cwd.startsWith(root + sep)) continue;
      if (!exes.has(readlinkSync(`/proc/${name}/exe`))) continue;
    } catch {
      continue; // gone, a zombie, or not ours to inspect
    }
    if (isProcessAlive(pid)) found.push(pid);
  }
  return found;
}

/** The pids in /proc now, but this process's (none when /proc cannot be read). */
function otherPids(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries.filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid).map(Number);
}

/** A process that uses a folder: its working directory or one of its open files is inside. */
export interface FolderUser {
  readonly pid: number;
  /** Its executable, when /proc lets us read it. */
  readonly exe: string | undefined;
  readonly how: 'cwd' | 'open file';
}

function inside(path: string, root: string): boolean {
  const p = path.replace(/ \(deleted\)$/, '');
  return p === root || p.startsWith(root + sep);
}

/**
 * Every live process (but this one) whose working directory is `dir` or
 * inside it, or that has a file open inside it. What the reaper asks before
 * it deletes a folder that has no owner to ask: anything still using it may
 * be creating it right now. Processes whose /proc entries we may not read
 * (another user's, when we are not root) are not seen.
 */
export function processesUsing(dir: string): FolderUser[] {
  const root = realpathOr(dir);
  const found: FolderUser[] = [];
  for (const pid of otherPids()) {
    const name = String(pid);
    let how: FolderUser['how'] | undefined;
    try {
      if (inside(readlinkSync(`/proc/${name}/cwd`), root)) how = 'cwd';
    } catch {
      // gone, a zombie, or not ours to inspect
    }
    if (how === undefined) {
      let fds: string[] = [];
      try {
        fds = readdirSync(`/proc/${name}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          if (inside(readlinkSync(`/proc/${name}/fd/${fd}`), root)) {
            how = 'open file';
            break;
          }
        } catch {
          // closed meanwhile
        }
      }
    }
    if (how === undefined || !isProcessAlive(pid)) continue;
    let exe: string | undefined;
    try {
      exe = readlinkSync(`/proc/${name}/exe`);
    } catch {
      exe = undefined;
    }
    found.push({ pid, exe, how });
  }
  return found;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Blocks the thread for `ms` (only for the synchronous 'exit' path, where nothing async runs). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits until none of `pids` is alive; returns the ones still alive at the deadline. */
export async function waitForProcessesGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isProcessAlive);
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await sleep(10);
  }
}

/** Synchronous variant of {@link waitForProcessesGone}. */
export function waitForProcessesGoneSync(pids: readonly number[], timeoutMs: number): number[] {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isProcessAlive);
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    sleepSync(10);
  }
}

/**
 * The SysV shared-memory segment a PostgreSQL data directory's last
 * postmaster created (line 7 of postmaster.pid), if it still exists and
 * nobody is attached. A postmaster that exits normally removes it; after a
 * SIGKILL it is left behind (tiny, but it counts against the kernel's limit).
 */
function orphanSegmentOf(pgdata: string): number | undefined {
  let lines: string[];
  try {
    lines = readFileSync(`${pgdata}/postmaster.pid`, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const [key, id] = (lines[6] ?? '').trim().split(/\s+/).map(Number);
  if (key === undefined || id === undefined || !Number.isFinite(key) || !Number.isFinite(id)) return undefined;
  let table: string;
  try {
    table = readFileSync('/proc/sysvipc/shm', 'utf8');
  } catch {
    return undefined;
  }
  for (const row of table.split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    // key shmid perms size cpid lpid nattch ...
    if (Number(f[0]) === key && Number(f[1]) === id && Number(f[6]) === 0) return id;
  }
  return undefined;
}

/** Removes the orphaned shared-memory segment of a dead postmaster (best effort). */
export async function removeOrphanSharedMemory(pgdata: string): Promise<void> {
  const id = orphanSegmentOf(pgdata);
  if (id === undefined) return;
  await new Promise<void>((resolve) => execFile('ipcrm', ['-m', String(id)], () => resolve()));
}

/** Synchronous variant of {@link removeOrphanSharedMemory} for the 'exit' path. */
export function removeOrphanSharedMemorySync(pgdata: string): void {
  const id = orphanSegmentOf(pgdata);
  if (id === undefined) return;
  try {
    execFileSync('ipcrm', ['-m', String(id)], { stdio: 'ignore' });
  } catch {
    // best effort on the way out
  }
}
