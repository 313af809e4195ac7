/**
 * A real PostgreSQL server for one lab run, started as a child process of
 * the lab (the `postgres` binary itself, not `pg_ctl start`, which would
 * daemonise it so it would no longer be ours to watch and stop).
 *
 * This file holds the public API ({@link PostgresServer.start} and the
 * started server); the ideas behind it live next to it, one per file:
 *  - `postgres-template.ts`: `initdb` runs once per machine; its result is
 *    cached as a template data dir that each start copies (race-safe
 *    publish by rename).
 *  - `postgres-user.ts`: PostgreSQL refuses to run as root, so a root lab
 *    runs it as the `postgres` user (chown, traversable temp folders).
 *  - `postgres-process.ts`: the server process (launch settings, the
 *    "ready" check, and kill/pause/resume of the whole process tree found
 *    through /proc).
 *  - `postgres-client.ts`: connection string, readiness query, CREATE DATABASE.
 *  - `postgres-binaries.ts`: finding `postgres` and `initdb` and their version.
 *
 * stop() is a fast shutdown (SIGINT); restart() keeps the data: this is the
 * lab's "Postgres restart" fault, and after kill() it exercises crash
 * recovery.
 */
import { existsSync } from 'node:fs';
import { chown, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ManagedProcess } from '../../process/managed-process.js';
import { registerCleanup } from '../../process/cleanup.js';
import { InvalidArgumentError, ProviderStartError } from '../../errors.js';
import type { StartedPostgresServer } from '../contract.js';
import { LOOPBACK, OperationQueue, PORT_IN_USE, checkPort, withPortRetry } from './launch.js';
import { findBinaries } from './postgres-binaries.js';
import { POSTGRES_USER, connectionString, createDatabaseAt } from './postgres-client.js';
import {
  type ResolvedConfig,
  freezeTree,
  killLeftovers,
  killTree,
  killTreeSync,
  launch,
  serverProcesses,
  thawTree,
} from './postgres-process.js';
import { defaultTemplateDir, ensureTemplate } from './postgres-template.js';
import { ensureOwnedBy, ensureTraversable, serverOsUser } from './postgres-user.js';
import { execTracked } from '../../process/exec-tracked.js';

export { DATABASE_NAME_RE, POSTGRES_USER, createDatabaseAt } from './postgres-client.js';
export type { StartedPostgresServer };

/** Options of {@link PostgresServer.start}. */
export interface PostgresServerOptions {
  /**
   * Folder for this server: the data dir is `<workDir>/pgdata` and the
   * Unix socket dir `<workDir>/sock`. Created if missing; must not already
   * contain `pgdata`.
   */
  readonly workDir: string;
  /** File that receives the server's output (appended across restarts). */
  readonly logFile: string;
  /** Port on 127.0.0.1. Default: a free port from the kernel (retried with a new one if taken meanwhile). */
  readonly port?: number;
  /**
   * Where the initdb'd template data dir is cached (the folder itself, created on first use).
   * Default `$LAB_CACHE_DIR/pg<major>-template`, or `~/.cache/chaos-lab/pg<major>-template`
   * when LAB_CACHE_DIR is not set.
   */
  readonly templateCacheDir?: string;
  /**
   * Folder with the `postgres` and `initdb` binaries. Default: the highest
   * version under `/usr/lib/postgresql/<version>/bin`, else $PATH.
   */
  readonly binDir?: string;
  /**
   * PostgreSQL `synchronous_commit`. Default `true` (on). Off means a
   * commit is acknowledged before its WAL leaves PostgreSQL's shared memory,
   * so {@link StartedPostgresServer.kill} (a process crash) loses the
   * acknowledged commits of roughly the last wal_writer_delay period(s) —
   * measured here: 34 of 50 just-committed rows gone. On, commits survive a
   * process crash (still without fsync, so the cost is one write() per
   * commit). Turn it off only for a test that never kills the server.
   */
  readonly synchronousCommit?: boolean;
  /** How long to wait for readiness (includes crash recovery after kill()). Default 30 000 ms. */
  readonly startTimeoutMs?: number;
  /** Grace period after SIGINT (fast shutdown) before SIGKILL on stop. Default 10 000 ms. */
  readonly stopTimeoutMs?: number;
}

// ---------------------------------------------------------------------------
// Starting

async function start(options: PostgresServerOptions): Promise<StartedPostgresServer> {
  checkPort(options.port);
  const bins = await findBinaries(options.binDir);
  const user = serverOsUser();
  const workDir = resolve(options.workDir);
  const cfg: ResolvedConfig = {
    bins,
    user,
    workDir,
    dataDir: join(workDir, 'pgdata'),
    socketDir: join(workDir, 'sock'),
    logFile: resolve(options.logFile),
    synchronousCommit: options.synchronousCommit ?? true,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
  };
  if (existsSync(cfg.dataDir)) {
    throw new InvalidArgumentError(
      'workDir',
      workDir,
      'a folder without a pgdata subfolder (every start copies a fresh one)',
    );
  }
  await mkdir(workDir, { recursive: true });
  const template = await ensureTemplate(
    bins,
    resolve(options.templateCacheDir ?? defaultTemplateDir(bins.major)),
    user,
  );
  try {
    try {
      await execTracked('cp', ['-a', '--', template, cfg.dataDir]);
    } catch (err) {
      throw new ProviderStartError('postgres', `copying the template ${template} failed: ${String(err)}`, {
        cause: err,
      });
    }
    await mkdir(cfg.socketDir, { recursive: true, mode: 0o700 });
    if (user) {
      await ensureOwnedBy(cfg.dataDir, user);
      await chown(cfg.socketDir, user.uid, user.gid);
      await ensureTraversable(workDir, user);
    }
    const { port, proc } = await withPortRetry('postgres', options.port, async (port) => {
      const r = await launch(cfg, port);
      return r === PORT_IN_USE ? r : { port, proc: r };
    });
    return new PostgresInstance(cfg, port, proc);
  } catch (err) {
    // Leave the work dir as we found it, so that a second attempt can use it.
    await rm(cfg.dataDir, { recursive: true, force: true });
    await rm(cfg.socketDir, { recursive: true, force: true });
    throw err;
  }
}

/** Starts PostgreSQL servers. */
export const PostgresServer: { start(options: PostgresServerOptions): Promise<StartedPostgresServer> } = { start };

class PostgresInstance implements StartedPostgresServer {
  readonly host = LOOPBACK;
  readonly user = POSTGRES_USER;
  private readonly ops = new OperationQueue();
  private proc!: ManagedProcess;
  private unregister: () => void = () => {};

  constructor(
    private readonly cfg: ResolvedConfig,
    readonly port: number,
    proc: ManagedProcess,
  ) {
    this.adopt(proc);
  }

  /**
   * Takes over a freshly started postmaster. Our own cleanup entry is
   * registered after the ManagedProcess's (re-registered on every start), so
   * on SIGINT/SIGTERM it runs first and does a fast shutdown of the whole
   * tree instead of the ManagedProcess default (SIGTERM = "smart" shutdown,
   * which waits for clients to disconnect); on 'exit' it SIGKILLs every
   * server process, not only the postmaster.
   */
  private adopt(proc: ManagedProcess): void {
    this.proc = proc;
    this.unregister();
    this.unregister = registerCleanup({
      name: `postgres tree (port ${this.port})`,
      run: () => this.stop(),
      killSync: () => killTreeSync(this.cfg, this.proc),
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }
  get running(): boolean {
    return this.proc.running;
  }
  get majorVersion(): number {
    return this.cfg.bins.major;
  }
  get dataDir(): string {
    return this.cfg.dataDir;
  }
  get socketDir(): string {
    return this.cfg.socketDir;
  }
  get logFile(): string {
    return this.cfg.logFile;
  }

  connectionString(database = 'postgres'): string {
    return connectionString(this.port, database);
  }

  async createDatabase(name: string): Promise<string> {
    await createDatabaseAt(this.connectionString(), name);
    return this.connectionString(name);
  }

  stop(): Promise<void> {
    return this.ops.run(async () => {
      await this.shutdown();
      this.unregister();
    });
  }

  restart(): Promise<void> {
    return this.ops.run(async () => {
      await this.shutdown();
      const r = await launch(this.cfg, this.port);
      if (r === PORT_IN_USE) {
        this.unregister();
        throw new ProviderStartError('postgres', `port ${this.port} was taken while the server was down`, {
          retriable: true,
          logFile: this.cfg.logFile,
        });
      }
      this.adopt(r);
    });
  }

  kill(): Promise<void> {
    return this.ops.run(async () => {
      if (this.proc.running) await killTree(this.cfg, this.proc);
      else await killLeftovers(this.cfg);
    });
  }

  processes(): number[] {
    return serverProcesses(this.cfg);
  }

  async pause(): Promise<void> {
    freezeTree(this.cfg, this.proc);
  }

  async resume(): Promise<void> {
    thawTree(this.cfg, this.proc);
  }

  /** Fast shutdown of a running server; then make sure nothing of it is left. */
  private async shutdown(): Promise<void> {
    if (this.proc.running) {
      thawTree(this.cfg, this.proc); // a stopped backend would hold up the shutdown
      await this.proc.stop('SIGINT');
    }
    await killLeftovers(this.cfg);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
