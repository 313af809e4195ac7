/**
 * The PostgreSQL server process: launching the `postgres` binary itself as a
 * child of the lab (not `pg_ctl start`, which would daemonise it so it would
 * no longer be ours to watch and stop), and acting on its process tree.
 *
 *  - Durability against power loss is traded for speed (fsync and
 *    full_page_writes off): the lab simulates process crashes, not machine
 *    crashes, and the kernel page cache survives a process crash.
 *    synchronous_commit stays on by default: with it off, a process crash
 *    loses acknowledged commits, and the lab would blame the system under
 *    test for a loss it caused (see `synchronousCommit`).
 *  - "Ready" means a query was answered by this very server (its
 *    data_directory is ours), not by whoever grabbed the port first.
 *  - A PostgreSQL server is a process tree (postmaster, checkpointer, WAL
 *    writer, one backend per connection). kill()/pause()/resume() act on the
 *    whole tree, found through /proc (same binary, cwd in our data dir), so
 *    "kill" really is a crash and "pause" really freezes every connection.
 */
import type { ManagedProcess } from '../../process/managed-process.js';
import { LOOPBACK, type PORT_IN_USE, launchServer } from './launch.js';
import {
  findProcessesInDir,
  removeOrphanSharedMemory,
  removeOrphanSharedMemorySync,
  signalPid,
  waitForProcessesGone,
  waitForProcessesGoneSync,
} from './proc.js';
import type { PgBinaries } from './postgres-binaries.js';
import { dataDirectoryOf } from './postgres-client.js';
import type { OsUser } from './postgres-user.js';
import { recordPidSync } from './work-dir.js';

/** {@link PostgresServerOptions} resolved: absolute paths, defaults applied. */
export interface ResolvedConfig {
  readonly bins: PgBinaries;
  readonly user: OsUser | undefined;
  readonly workDir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  readonly synchronousCommit: boolean;
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
}

export async function launch(cfg: ResolvedConfig, port: number): Promise<ManagedProcess | typeof PORT_IN_USE> {
  const settings = [
    `listen_addresses=${LOOPBACK}`,
    'fsync=off',
    `synchronous_commit=${cfg.synchronousCommit ? 'on' : 'off'}`,
    'full_page_writes=off',
    'max_connections=200',
  ];
  return launchServer({
    component: 'postgres',
    spawn: {
      name: 'postgres',
      command: cfg.bins.postgres,
      args: ['-D', cfg.dataDir, '-p', String(port), '-k', cfg.socketDir, ...settings.flatMap((s) => ['-c', s])],
      cwd: cfg.dataDir,
      logFile: cfg.logFile,
      stopTimeoutMs: cfg.stopTimeoutMs,
      ...(cfg.user && { uid: cfg.user.uid, gid: cfg.user.gid }),
      // Recorded for the reaper in the spawn's own tick, not once ready (see work-dir.ts).
      onSpawn: (pid) => recordPidSync(cfg.workDir, pid, cfg.bins.postgres, { stopSignal: 'SIGINT' }),
    },
    readyWhat: 'a query answered by the new server',
    ready: async () => (await dataDirectoryOf(port)) === cfg.dataDir,
    timeoutMs: cfg.startTimeoutMs,
    killAll: (proc) => killTree(cfg, proc),
  });
}

/** Every live process of the server: postmaster and children (same binary, cwd in the data dir). */
export function serverProcesses(cfg: ResolvedConfig): number[] {
  return findProcessesInDir(cfg.dataDir, [cfg.bins.postgres]);
}

export async function killTree(cfg: ResolvedConfig, proc: ManagedProcess): Promise<void> {
  const all = serverProcesses(cfg);
  proc.signal('SIGKILL'); // the postmaster first, so it cannot fork replacements
  for (const pid of all) signalPid(pid, 'SIGKILL');
  await proc.exited;
  await waitForProcessesGone(all, 5_000);
  await removeOrphanSharedMemory(cfg.dataDir);
}

/** Processes of an earlier postmaster that died without taking its children along. */
export async function killLeftovers(cfg: ResolvedConfig): Promise<void> {
  const left = serverProcesses(cfg);
  for (const pid of left) signalPid(pid, 'SIGKILL');
  await waitForProcessesGone(left, 5_000);
  await removeOrphanSharedMemory(cfg.dataDir);
}

/** The 'exit' path: nothing async runs any more, so kill the tree synchronously. */
export function killTreeSync(cfg: ResolvedConfig, proc: ManagedProcess): void {
  const all = serverProcesses(cfg);
  proc.signal('SIGKILL');
  for (const pid of all) signalPid(pid, 'SIGKILL');
  waitForProcessesGoneSync(all, 1_000);
  removeOrphanSharedMemorySync(cfg.dataDir);
}

/** SIGSTOP for the whole tree of a running server. */
export function freezeTree(cfg: ResolvedConfig, proc: ManagedProcess): void {
  if (!proc.running) return;
  proc.pause(); // the postmaster first, so it starts nothing new
  for (const pid of serverProcesses(cfg)) signalPid(pid, 'SIGSTOP');
}

/** SIGCONT for the whole tree, the postmaster last. */
export function thawTree(cfg: ResolvedConfig, proc: ManagedProcess): void {
  for (const pid of serverProcesses(cfg)) if (pid !== proc.pid) signalPid(pid, 'SIGCONT');
  proc.resume();
}
