/**
 * Work directories: one temporary folder per lab run that holds every
 * server's data, sockets and logs, so that "clean up" is one `rm -rf`.
 *
 * Two layers make sure nothing is left behind:
 *  1. In-process: the folder is registered with the cleanup registry the
 *     moment it exists, so a normal end, an uncaught error, SIGINT, SIGTERM
 *     or SIGHUP removes it (after the servers inside have been stopped,
 *     because they were registered later and cleanups run newest first).
 *  2. Across processes: a lab that is SIGKILLed cannot clean up. Each work
 *     dir therefore records its owner (`owner.json`) and every server pid it
 *     starts (`pids`, one JSON object per line with the pid's kernel start
 *     time). {@link reapStaleWorkDirs} later finds folders whose owner is
 *     dead, stops the recorded servers that are still running — only when
 *     the pid still runs the recorded command and started at the recorded
 *     time, so a recycled pid is never killed — and deletes the folder.
 */
import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { registerTempDir } from '../../process/cleanup.js';
import { InvalidArgumentError } from '../../errors.js';
import {
  findProcessesInDir,
  isProcessAlive,
  processStartTime,
  readCmdline,
  removeOrphanSharedMemory,
  signalPid,
  waitForProcessesGone,
} from './proc.js';

/** Every work dir name starts with this, which is how the reaper finds them. */
export const WORK_DIR_PREFIX = 'chaos-lab-';
const OWNER_FILE = 'owner.json';
const PIDS_FILE = 'pids';

/** A temporary folder owned by this process; removed on every exit path. */
export interface WorkDir extends AsyncDisposable {
  /** Absolute path of the folder. */
  readonly path: string;
  /** Deletes the folder now (idempotent). Stop the servers inside first. */
  remove(): Promise<void>;
}

/** Content of `owner.json`. */
export interface WorkDirOwner {
  readonly pid: number;
  /** ISO time the folder was created. */
  readonly startedAt: string;
  /** Kernel start time of the owner (clock ticks after boot), to tell a recycled pid from the owner. */
  readonly procStartTime?: number;
}

/** One line of the `pids` file. */
export interface PidRecord {
  readonly pid: number;
  /** The program that was started (as passed to spawn); checked against /proc/PID/cmdline before killing. */
  readonly command: string;
  /** Kernel start time of the process; a pid whose start time differs was recycled. */
  readonly procStartTime?: number;
  /** Signal for a graceful stop by the reaper. Default SIGTERM. */
  readonly stopSignal?: NodeJS.Signals;
  readonly recordedAt: string;
}

/**
 * Creates `os.tmpdir()/<prefix>XXXXXX` (mode 0700), registers it for removal
 * on every exit path and writes `owner.json` inside.
 *
 * @param prefix Folder name prefix. Default `chaos-lab-`; must start with
 *   `chaos-lab-` so that {@link reapStaleWorkDirs} can find the folder.
 */
export async function createWorkDir(prefix = WORK_DIR_PREFIX): Promise<WorkDir> {
  if (!prefix.startsWith(WORK_DIR_PREFIX) || !/^[A-Za-z0-9._-]+$/.test(prefix)) {
    throw new InvalidArgumentError('prefix', prefix, `a file name prefix starting with "${WORK_DIR_PREFIX}"`);
  }
  const path = await mkdtemp(join(tmpdir(), prefix));
  // Registered before anything else can fail, so the folder never outlives us.
  const unregister = registerTempDir(path);
  const remove = async () => {
    unregister();
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    const owner: WorkDirOwner = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      ...optional('procStartTime', processStartTime(process.pid)),
    };
    await writeFile(join(path, OWNER_FILE), JSON.stringify(owner) + '\n');
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, remove, [Symbol.asyncDispose]: remove };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The nearest folder at or above `dir` that has an owner.json (the lab work dir it belongs to). */
function owningWorkDir(dir: string): string | undefined {
  let d = resolve(dir);
  for (;;) {
    if (existsSync(join(d, OWNER_FILE))) return d;
    const parent = dirname(d);
    if (parent === d) return undefined;
    d = parent;
  }
}

/**
 * Records a server process so that {@link reapStaleWorkDirs} can stop it if
 * this process dies without cleaning up. Appends to the `pids` file of the
 * lab work dir that contains `workDir` (the nearest folder at or above it
 * with an owner.json), or to `<workDir>/pids` if there is none.
 *
 * @param command The program as spawned (absolute path preferred).
 * @param options.stopSignal Signal the reaper sends first. Default SIGTERM.
 */
export async function recordPid(
  workDir: string,
  pid: number,
  command: string,
  options: { stopSignal?: NodeJS.Signals } = {},
): Promise<void> {
  const target = owningWorkDir(workDir) ?? resolve(workDir);
  const rec: PidRecord = {
    pid,
    command,
    ...optional('procStartTime', processStartTime(pid)),
    ...optional('stopSignal', options.stopSignal),
    recordedAt: new Date().toISOString(),
  };
  await appendFile(join(target, PIDS_FILE), JSON.stringify(rec) + '\n');
}

/** What {@link reapStaleWorkDirs} did to one folder. */
export interface ReapedWorkDir {
  readonly path: string;
  readonly ownerPid: number;
  /** Recorded processes that were still running and were stopped. */
  readonly killed: readonly { readonly pid: number; readonly command: string }[];
  /** Leftover helper processes of those servers (same binary, cwd inside the folder) that were killed. */
  readonly orphansKilled: readonly number[];
}

/** Options of {@link reapStaleWorkDirs}. */
export interface ReapOptions {
  /** Folder to scan. Default `os.tmpdir()`. */
  readonly tmpDir?: string;
  /** How long a recorded process gets after its stop signal before SIGKILL. Default 5 000 ms. */
  readonly graceMs?: number;
}

/** True when the recorded owner is still this very process (pid alive and same start time). */
function ownerAlive(owner: WorkDirOwner): boolean {
  if (!isProcessAlive(owner.pid)) return false;
  if (owner.procStartTime === undefined) return true;
  return processStartTime(owner.pid) === owner.procStartTime;
}

/** True when `rec.pid` is alive and still the process that was recorded. */
function stillTheRecordedProcess(rec: PidRecord): boolean {
  if (!isProcessAlive(rec.pid)) return false;
  if (rec.procStartTime !== undefined && processStartTime(rec.pid) !== rec.procStartTime) return false;
  const argv = readCmdline(rec.pid);
  // Some servers rewrite their argv (redis shows "redis-server 127.0.0.1:6379"),
  // so compare the program name of the first word.
  const first = argv?.[0]?.split(' ')[0];
  if (first === undefined) return false;
  return first === rec.command || basename(first) === basename(rec.command);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function readPidRecords(dir: string): Promise<PidRecord[]> {
  let text: string;
  try {
    text = await readFile(join(dir, PIDS_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: PidRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as PidRecord;
      if (Number.isInteger(rec.pid) && rec.pid > 1 && typeof rec.command === 'string') out.push(rec);
    } catch {
      // a torn last line from a crash: ignore
    }
  }
  return out;
}

/** Folders holding a postmaster.pid (PostgreSQL data dirs), at most `depth` levels below `dir`. */
async function findPgDataDirs(dir: string, depth: number): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  if (entries.some((e) => e.isFile() && e.name === 'postmaster.pid')) out.push(dir);
  if (depth > 0) {
    for (const e of entries) if (e.isDirectory()) out.push(...(await findPgDataDirs(join(dir, e.name), depth - 1)));
  }
  return out;
}

/**
 * Finds `chaos-lab-*` folders in the temp dir whose owner process is dead,
 * stops the servers recorded in their `pids` file (graceful signal, then
 * SIGKILL after `graceMs`), kills leftover helper processes of those
 * servers, and deletes the folders. Folders without a readable owner.json
 * are left alone (they are not ours, or are being created right now).
 */
export async function reapStaleWorkDirs(options: ReapOptions = {}): Promise<ReapedWorkDir[]> {
  const root = options.tmpDir ?? tmpdir();
  const graceMs = options.graceMs ?? 5_000;
  const reaped: ReapedWorkDir[] = [];
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return reaped;
  }
  for (const name of names) {
    if (!name.startsWith(WORK_DIR_PREFIX)) continue;
    const path = join(root, name);
    try {
      if (!(await stat(path)).isDirectory()) continue;
    } catch {
      continue;
    }
    const owner = await readJson<WorkDirOwner>(join(path, OWNER_FILE));
    if (!owner || !Number.isInteger(owner.pid)) continue;
    if (ownerAlive(owner)) continue;

    const records = await readPidRecords(path);
    const live = records.filter(stillTheRecordedProcess);
    for (const rec of live) {
      signalPid(rec.pid, 'SIGCONT'); // a paused server cannot act on its stop signal
      signalPid(rec.pid, rec.stopSignal ?? 'SIGTERM');
    }
    const stubborn = await waitForProcessesGone(
      live.map((r) => r.pid),
      graceMs,
    );
    for (const pid of stubborn) signalPid(pid, 'SIGKILL');
    await waitForProcessesGone(stubborn, 2_000);

    // Helpers of a server whose main process died first (e.g. PostgreSQL
    // backends, possibly SIGSTOPped by a pause fault): same binary, cwd inside.
    const executables = [...new Set(records.map((r) => r.command))];
    const orphans = findProcessesInDir(path, executables);
    for (const pid of orphans) {
      signalPid(pid, 'SIGKILL');
    }
    await waitForProcessesGone(orphans, 2_000);
    for (const pgdata of await findPgDataDirs(path, 3)) await removeOrphanSharedMemory(pgdata);

    await rm(path, { recursive: true, force: true, maxRetries: 3 });
    reaped.push({
      path,
      ownerPid: owner.pid,
      killed: live.map((r) => ({ pid: r.pid, command: r.command })),
      orphansKilled: orphans,
    });
  }
  return reaped;
}
