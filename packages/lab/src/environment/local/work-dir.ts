/**
 * Work directories: one temporary folder per lab run that holds every
 * server's data, sockets and logs, so that "clean up" is one removal.
 *
 * Two layers make sure nothing is left behind:
 *  1. In-process: the folder is registered with the cleanup registry before
 *     it even exists, so a normal end, an uncaught error, SIGINT, SIGTERM,
 *     SIGHUP or a closed stdout removes it — also when the signal comes while
 *     it is being created (the cleanup waits for the creation, then removes
 *     what it made) — after the servers inside have been stopped, because
 *     they were registered later and cleanups run newest first.
 *  2. Across processes: a lab that is SIGKILLed cannot clean up. Each work
 *     dir therefore records its owner (`owner.json`) and every server pid it
 *     starts (`pids`, one JSON object per line with the pid's kernel start
 *     time), the pid in the same tick as the spawn. {@link reapWorkDirs}
 *     later finds folders whose owner is dead, stops the recorded servers
 *     that are still running — only when the pid still runs the recorded
 *     command and started at the recorded time, so a recycled pid is never
 *     killed — and deletes the folder.
 *
 * No moment exists at which a work dir has no owner the reaper can find:
 *  - it is created as `.chaos-lab-new-<pid>-XXXXXX` (the creator's pid in its
 *    name), gets its owner.json there, and only then is renamed to
 *    `chaos-lab-XXXXXX`: a folder under its final name always has an owner;
 *  - it is removed contents first, then `pids`, then `owner.json`, then the
 *    folder itself: a removal cut short (a second signal, a process still
 *    writing) leaves a folder that still names its (now dead) owner.
 * Before that was so, a signal during the start left folders with data but
 * no owner.json (the removal failed with ENOTEMPTY under an untracked
 * `cp -a` of the PostgreSQL template after it had deleted owner.json), and
 * the reaper skipped them: "nothing to reap" (issue 15). For such folders —
 * left by an older lab, or by any path not foreseen here — the reaper also
 * takes a `chaos-lab-*` folder without an owner when no live process has its
 * working directory or an open file in it and nothing in it changed for
 * {@link ReapOptions.ownerlessAfterMs}, so that a folder some lab is creating
 * right now is never taken. A folder whose owner is alive is never touched,
 * and the reaper kills only processes recorded in `pids` (and helpers of the
 * same programs): a folder that something else still uses after that is
 * kept, and the report names the process.
 */
import { appendFile, lstat, mkdtemp, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isExiting, registerCleanup } from '../../process/cleanup.js';
import { InvalidArgumentError, LabError } from '../../errors.js';
import {
  type FolderUser,
  findProcessesInDir,
  isProcessAlive,
  processStartTime,
  processesUsing,
  readCmdline,
  removeOrphanSharedMemory,
  signalPid,
  sleep,
  waitForProcessesGone,
  waitForProcessesGoneSync,
} from './proc.js';

/** Every work dir name starts with this, which is how the reaper finds them. */
export const WORK_DIR_PREFIX = 'chaos-lab-';
/** A work dir being created: `.chaos-lab-new-<creator pid>-XXXXXX`, renamed once its owner.json is in. */
export const STAGING_PREFIX = '.chaos-lab-new-';
const STAGING_RE = /^\.chaos-lab-new-(\d+)-/;
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
 * Creates `os.tmpdir()/<prefix>XXXXXX` (mode 0700) with `owner.json` inside
 * (see the module header: created under a staging name and renamed, so the
 * folder never exists under its name without an owner), registered for
 * removal on every exit path from before it exists.
 *
 * @param prefix Folder name prefix. Default `chaos-lab-`; must start with
 *   `chaos-lab-` so that {@link reapWorkDirs} can find the folder.
 */
export async function createWorkDir(prefix = WORK_DIR_PREFIX): Promise<WorkDir> {
  if (!prefix.startsWith(WORK_DIR_PREFIX) || !/^[A-Za-z0-9._-]+$/.test(prefix)) {
    throw new InvalidArgumentError('prefix', prefix, `a file name prefix starting with "${WORK_DIR_PREFIX}"`);
  }
  if (isExiting()) throw new LabError('the lab is shutting down; no work dir is created');
  const root = tmpdir();
  // Where the folder is now (staging, then final), and the creation under way.
  let path: string | undefined;
  let creating: Promise<unknown> = Promise.resolve();
  let removing: Promise<void> | undefined;
  const remove = (): Promise<void> =>
    (removing ??= (async () => {
      await creating.catch(() => {});
      if (path !== undefined) await removeWorkDirFolder(path);
      unregister();
    })().catch((err: unknown) => {
      removing = undefined; // a later call tries again
      throw err;
    }));
  // Registered before anything exists: a signal while mkdtemp or the rename is in flight waits for it.
  const unregister = registerCleanup({
    get name() {
      return `dir ${path ?? `${root}/${prefix}… (being created)`}`;
    },
    run: remove,
    killSync: () => {
      if (path !== undefined) removeWorkDirFolderSync(path);
    },
  });
  creating = (async () => {
    const staging = await mkdtemp(join(root, `${STAGING_PREFIX}${process.pid}-`));
    path = staging;
    const owner: WorkDirOwner = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      ...optional('procStartTime', processStartTime(process.pid)),
    };
    await writeFile(join(staging, OWNER_FILE), JSON.stringify(owner) + '\n');
    // rename() replaces an empty folder of that name without a word, so a taken name is skipped first.
    for (let attempt = 0; ; attempt++) {
      const final = join(root, prefix + randomName());
      if (existsSync(final)) {
        if (attempt < 10) continue;
        throw new LabError(`no free work dir name for ${join(root, prefix)}XXXXXX after ${attempt} attempts`);
      }
      await rename(staging, final);
      path = final;
      return;
    }
  })();
  try {
    await creating;
  } catch (err) {
    await remove().catch(() => {});
    throw err;
  }
  const final = path!;
  return { path: final, remove, [Symbol.asyncDispose]: remove };
}

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Six characters as mkdtemp would pick them. */
function randomName(): string {
  return [...randomBytes(6)].map((b) => NAME_CHARS[b % NAME_CHARS.length]).join('');
}

/**
 * Deletes a work dir so that, until the very end, it names its owner: the
 * contents first, then `pids`, then `owner.json`, then the folder. Processes
 * still recorded in `pids` are given up to `waitMs` to be gone first (their
 * stop was already asked for; one that still writes would make the removal
 * fail with ENOTEMPTY).
 */
export async function removeWorkDirFolder(path: string, waitMs = 5_000): Promise<void> {
  const live = (await readPidRecords(path)).filter(stillTheRecordedProcess);
  await waitForProcessesGone(
    live.map((r) => r.pid),
    waitMs,
  );
  let entries: string[];
  try {
    entries = await readdir(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (e === OWNER_FILE || e === PIDS_FILE) continue;
    await rm(join(path, e), { recursive: true, force: true, maxRetries: 3 });
  }
  await rm(join(path, PIDS_FILE), { force: true });
  await rm(join(path, OWNER_FILE), { force: true });
  await rmdir(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** {@link removeWorkDirFolder} for the synchronous exit path (the processes were just sent SIGKILL). */
export function removeWorkDirFolderSync(path: string, waitMs = 2_000): void {
  const live = readPidRecordsSync(path).filter(stillTheRecordedProcess);
  waitForProcessesGoneSync(
    live.map((r) => r.pid),
    waitMs,
  );
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch {
    return;
  }
  for (const e of entries) {
    if (e === OWNER_FILE || e === PIDS_FILE) continue;
    rmSync(join(path, e), { recursive: true, force: true, maxRetries: 3 });
  }
  rmSync(join(path, PIDS_FILE), { force: true });
  rmSync(join(path, OWNER_FILE), { force: true });
  try {
    rmdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
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

function pidRecord(pid: number, command: string, stopSignal: NodeJS.Signals | undefined): string {
  const rec: PidRecord = {
    pid,
    command,
    ...optional('procStartTime', processStartTime(pid)),
    ...optional('stopSignal', stopSignal),
    recordedAt: new Date().toISOString(),
  };
  return JSON.stringify(rec) + '\n';
}

/**
 * Records a server process so that {@link reapWorkDirs} can stop it if
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
  await appendFile(join(target, PIDS_FILE), pidRecord(pid, command, options.stopSignal));
}

/**
 * {@link recordPid} in the same tick: what `ManagedProcess`'s `onSpawn` calls,
 * so that a SIGKILLed lab leaves a server nobody knows of only if the kill
 * falls between the fork and this write (formerly: until the server was ready).
 */
export function recordPidSync(
  workDir: string,
  pid: number,
  command: string,
  options: { stopSignal?: NodeJS.Signals } = {},
): void {
  const target = owningWorkDir(workDir) ?? resolve(workDir);
  appendFileSync(join(target, PIDS_FILE), pidRecord(pid, command, options.stopSignal));
}

/** What {@link reapWorkDirs} did (or, in a dry run, would do) to one folder. */
export interface ReapedWorkDir {
  readonly path: string;
  /** Why it was taken: its owner is gone, or it has none and nothing uses it. */
  readonly reason: string;
  /** The owner it named (owner.json, or the pid in a staging folder's name); undefined for a folder without one. */
  readonly ownerPid: number | undefined;
  /** Disk space it held (allocated blocks, as `du` counts). */
  readonly bytes: number;
  /** Recorded processes that were still running and were stopped (in a dry run: would be). */
  readonly killed: readonly { readonly pid: number; readonly command: string }[];
  /** Leftover helper processes of those servers (same binary, cwd inside the folder) that were killed. */
  readonly orphansKilled: readonly number[];
}

/** A `chaos-lab-*` folder {@link reapWorkDirs} left alone, and why. */
export interface KeptWorkDir {
  readonly path: string;
  readonly reason: string;
  readonly bytes: number;
}

/** What {@link reapWorkDirs} found in the temp dir. */
export interface ReapReport {
  readonly dryRun: boolean;
  readonly reaped: readonly ReapedWorkDir[];
  readonly kept: readonly KeptWorkDir[];
}

/** Options of {@link reapWorkDirs}. */
export interface ReapOptions {
  /** Folder to scan. Default `os.tmpdir()`. */
  readonly tmpDir?: string;
  /** How long a recorded process gets after its stop signal before SIGKILL. Default 5 000 ms. */
  readonly graceMs?: number;
  /** Only find and report what would be reaped; stop nothing, delete nothing. Default false. */
  readonly dryRun?: boolean;
  /**
   * A folder without any owner (no owner.json, not a staging folder) is taken only when nothing in it (the
   * folder and its entries) changed for this long, and no live process uses it. Default 600 000 ms (10 min).
   */
  readonly ownerlessAfterMs?: number;
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

async function readOwner(dir: string): Promise<WorkDirOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as WorkDirOwner;
    return Number.isInteger(o?.pid) && o.pid > 0 ? o : undefined;
  } catch {
    return undefined;
  }
}

function parsePidRecords(text: string): PidRecord[] {
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

async function readPidRecords(dir: string): Promise<PidRecord[]> {
  try {
    return parsePidRecords(await readFile(join(dir, PIDS_FILE), 'utf8'));
  } catch {
    return [];
  }
}

function readPidRecordsSync(dir: string): PidRecord[] {
  try {
    return parsePidRecords(readFileSync(join(dir, PIDS_FILE), 'utf8'));
  } catch {
    return [];
  }
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

/** Disk space under `path` (allocated blocks, as `du` counts them); what cannot be read counts 0. */
export async function diskUsage(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  let total = st.blocks * 512;
  if (st.isDirectory()) {
    let names: string[] = [];
    try {
      names = await readdir(path);
    } catch {
      // unreadable: counted as empty
    }
    for (const n of names) total += await diskUsage(join(path, n));
  }
  return total;
}

/** The newest modification time of the folder and of its direct entries (ms since the epoch). */
async function lastChangeMs(path: string): Promise<number> {
  let newest = (await stat(path)).mtimeMs;
  for (const n of await readdir(path).catch(() => [] as string[])) {
    const m = await lstat(join(path, n)).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    newest = Math.max(newest, m);
  }
  return newest;
}

function describeUsers(users: readonly FolderUser[]): string {
  return users.map((u) => `pid ${u.pid} (${u.exe ?? '?'}, ${u.how})`).join(', ');
}

function minutes(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/** Who owns a folder, by its owner.json or (a staging folder) by its name. */
type Ownership =
  | { readonly kind: 'owner'; readonly owner: WorkDirOwner }
  | { readonly kind: 'staging'; readonly pid: number }
  | { readonly kind: 'none' };

async function ownershipOf(path: string): Promise<Ownership> {
  const owner = await readOwner(path);
  if (owner) return { kind: 'owner', owner };
  const m = STAGING_RE.exec(basename(path));
  if (m) return { kind: 'staging', pid: Number(m[1]) };
  return { kind: 'none' };
}

/** Whether a folder may be reaped, and why (or why not). */
async function judge(
  path: string,
  ownership: Ownership,
  ownerlessAfterMs: number,
): Promise<{ reap: true; reason: string; ownerPid: number | undefined } | { reap: false; reason: string }> {
  switch (ownership.kind) {
    case 'owner': {
      const o = ownership.owner;
      if (ownerAlive(o)) return { reap: false, reason: `its owner, pid ${o.pid}, is alive` };
      return { reap: true, reason: `its owner, pid ${o.pid} (since ${o.startedAt}), is gone`, ownerPid: o.pid };
    }
    case 'staging':
      if (isProcessAlive(ownership.pid))
        return { reap: false, reason: `pid ${ownership.pid} is creating it (or another process has that pid now)` };
      return { reap: true, reason: `pid ${ownership.pid} died while creating it`, ownerPid: ownership.pid };
    case 'none': {
      const idleMs = Date.now() - (await lastChangeMs(path));
      if (idleMs < ownerlessAfterMs)
        return {
          reap: false,
          reason: `no owner.json, and changed ${minutes(idleMs)} ago (a lab may be creating or removing it; taken once unchanged for ${minutes(ownerlessAfterMs)})`,
        };
      const users = processesUsing(path);
      if (users.length > 0) return { reap: false, reason: `no owner.json, but in use by ${describeUsers(users)}` };
      return {
        reap: true,
        reason: `no owner.json, unchanged for ${minutes(idleMs)} and used by no process (left by a lab that died while creating or removing it)`,
        ownerPid: undefined,
      };
    }
  }
}

/** The work dirs of `root`: `chaos-lab-*` folders and the staging folders of work dirs being created. */
async function workDirCandidates(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    if (!name.startsWith(WORK_DIR_PREFIX) && !name.startsWith(STAGING_PREFIX)) continue;
    const path = join(root, name);
    try {
      if ((await lstat(path)).isDirectory()) out.push(path);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Finds the work dirs in the temp dir that no live lab owns — the owner is
 * dead, or (a folder left without owner.json) none is named, nothing in it
 * changed for `ownerlessAfterMs` and no process uses it — stops the servers
 * recorded in their `pids` file (graceful signal, then SIGKILL after
 * `graceMs`), kills leftover helper processes of those servers, and deletes
 * the folders. A folder that a process still uses after that is kept, and
 * the report says by whom. Every folder is in the report: reaped or kept,
 * with the reason and its size.
 */
export async function reapWorkDirs(options: ReapOptions = {}): Promise<ReapReport> {
  const root = options.tmpDir ?? tmpdir();
  const graceMs = options.graceMs ?? 5_000;
  const ownerlessAfterMs = options.ownerlessAfterMs ?? 600_000;
  const dryRun = options.dryRun ?? false;
  const reaped: ReapedWorkDir[] = [];
  const kept: KeptWorkDir[] = [];
  for (const path of await workDirCandidates(root)) {
    try {
      const verdict = await judge(path, await ownershipOf(path), ownerlessAfterMs);
      if (!verdict.reap) {
        kept.push({ path, reason: verdict.reason, bytes: await diskUsage(path) });
        continue;
      }
      const records = await readPidRecords(path);
      const live = records.filter(stillTheRecordedProcess);
      if (dryRun) {
        reaped.push({
          path,
          reason: verdict.reason,
          ownerPid: verdict.ownerPid,
          bytes: await diskUsage(path),
          killed: live.map((r) => ({ pid: r.pid, command: r.command })),
          orphansKilled: [],
        });
        continue;
      }
      const { orphans } = await stopRecorded(path, records, live, graceMs);
      // Anything still using the folder now is nothing we know of: wait a little (a copy finishing), then keep it.
      let users = processesUsing(path);
      if (users.length > 0) {
        await waitForProcessesGone(
          users.map((u) => u.pid),
          graceMs,
        );
        users = processesUsing(path);
      }
      if (users.length > 0) {
        kept.push({
          path,
          reason: `${verdict.reason}, but it is still in use by ${describeUsers(users)}, which the lab did not record`,
          bytes: await diskUsage(path),
        });
        continue;
      }
      for (const pgdata of await findPgDataDirs(path, 3)) await removeOrphanSharedMemory(pgdata);
      const bytes = await diskUsage(path);
      await removeWorkDirFolder(path, 0);
      reaped.push({
        path,
        reason: verdict.reason,
        ownerPid: verdict.ownerPid,
        bytes,
        killed: live.map((r) => ({ pid: r.pid, command: r.command })),
        orphansKilled: orphans,
      });
    } catch (err) {
      kept.push({ path, reason: `could not be reaped: ${String(err)}`, bytes: await diskUsage(path) });
    }
  }
  return { dryRun, reaped, kept };
}

/** Stops the live recorded processes of a dead owner's folder, then leftover helpers of the same programs. */
async function stopRecorded(
  path: string,
  records: readonly PidRecord[],
  live: readonly PidRecord[],
  graceMs: number,
): Promise<{ orphans: number[] }> {
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
  for (const pid of orphans) signalPid(pid, 'SIGKILL');
  await waitForProcessesGone(orphans, 2_000);
  // Let the kernel finish with what the killed processes held open.
  if (live.length + orphans.length > 0) await sleep(50);
  return { orphans };
}

/** {@link reapWorkDirs}, answering only what was reaped. */
export async function reapStaleWorkDirs(options: ReapOptions = {}): Promise<ReapedWorkDir[]> {
  return [...(await reapWorkDirs(options)).reaped];
}

/** `28.1 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** One line per folder, what was done and why, and a total: what `lab reap` prints. */
export function formatReapReport(report: ReapReport): string {
  const lines: string[] = [];
  const verb = report.dryRun ? 'would remove' : 'removed';
  for (const r of report.reaped) {
    const stopped = [
      ...r.killed.map((k) => `${basename(k.command)} (pid ${k.pid})`),
      ...r.orphansKilled.map((pid) => `helper pid ${pid}`),
    ];
    const stop = stopped.length === 0 ? '' : `; ${report.dryRun ? 'would stop' : 'stopped'} ${stopped.join(', ')}`;
    lines.push(`${verb} ${r.path} (${formatBytes(r.bytes)}): ${r.reason}${stop}`);
  }
  for (const k of report.kept) lines.push(`kept ${k.path} (${formatBytes(k.bytes)}): ${k.reason}`);
  const total = report.reaped.reduce((n, r) => n + r.bytes, 0);
  lines.push(
    report.reaped.length === 0
      ? 'nothing to reap'
      : `${report.dryRun ? 'would reap' : 'reaped'} ${report.reaped.length} work dir(s), ${formatBytes(total)}`,
  );
  return lines.join('\n');
}
