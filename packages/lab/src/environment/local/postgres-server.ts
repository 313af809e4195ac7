/**
 * A real PostgreSQL server for one lab run, started as a child process of
 * the lab (the `postgres` binary itself, not `pg_ctl start`, which would
 * daemonise it so it would no longer be ours to watch and stop).
 *
 * Why this shape:
 *  - `initdb` costs about a second, so it runs once per machine: the result
 *    is cached as a template data dir (`$LAB_CACHE_DIR/pg<major>-template`,
 *    default `~/.cache/chaos-lab/pg<major>-template`) and each start copies
 *    it (`cp -a`, tens of milliseconds). Creating the cache is safe when
 *    several processes race: each one runs initdb in its own temp folder and
 *    publishes the result with one atomic rename(); the losers throw their
 *    copy away. A cache folder that exists is therefore always complete.
 *  - PostgreSQL refuses to run as root. When the lab is root, initdb and the
 *    server run as the `postgres` system user, the data and socket dirs are
 *    chowned to it, and the lab's own temp folders on the way (created 0700
 *    by mkdtemp) get the "others may traverse" bit. Folders outside the temp
 *    dir are never loosened; an unreachable one is a clear error instead.
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
 *  - stop() is a fast shutdown (SIGINT); restart() keeps the data: this is
 *    the lab's "Postgres restart" fault, and after kill() it exercises crash
 *    recovery.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ManagedProcess } from '../../process/managed-process.js';
import { registerCleanup } from '../../process/cleanup.js';
import { InvalidArgumentError, MissingDependencyError, ProviderStartError } from '../../errors.js';
import {
  LOOPBACK,
  OperationQueue,
  PORT_IN_USE,
  checkPort,
  findExecutable,
  launchServer,
  withPortRetry,
} from './launch.js';
import {
  findProcessesInDir,
  removeOrphanSharedMemory,
  removeOrphanSharedMemorySync,
  signalPid,
  waitForProcessesGone,
  waitForProcessesGoneSync,
} from './proc.js';
import { createWorkDir, recordPid } from './work-dir.js';

const execFileP = promisify(execFile);

const INSTALL_HINT = 'install it with: apt-get install -y postgresql';
/** Database names accepted by {@link StartedPostgresServer.createDatabase}. */
export const DATABASE_NAME_RE = /^[a-z_][a-z0-9_]{0,62}$/;
/** The database superuser created by initdb. */
export const POSTGRES_USER = 'postgres';

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

import type { StartedPostgresServer } from '../contract.js';

export type { StartedPostgresServer };

// ---------------------------------------------------------------------------
// Binaries and the OS user

interface PgBinaries {
  readonly postgres: string;
  readonly initdb: string;
  readonly major: number;
}

const versionCache = new Map<string, number>();

async function majorVersionOf(postgresBin: string): Promise<number> {
  const cached = versionCache.get(postgresBin);
  if (cached !== undefined) return cached;
  const { stdout } = await execFileP(postgresBin, ['--version']);
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(stdout);
  if (!m?.[1]) throw new ProviderStartError('postgres', `cannot read the version of ${postgresBin}: ${stdout.trim()}`);
  const major = Number(m[1]);
  versionCache.set(postgresBin, major);
  return major;
}

function versionedBinDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

async function findBinaries(binDir: string | undefined): Promise<PgBinaries> {
  const pathDirs = (process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/'));
  const dirs = binDir !== undefined ? [resolve(binDir)] : [...versionedBinDirs(), ...pathDirs];
  for (const dir of dirs) {
    const postgres = findExecutable('postgres', [dir]);
    const initdb = findExecutable('initdb', [dir]);
    if (postgres && initdb) return { postgres, initdb, major: await majorVersionOf(postgres) };
  }
  const where = binDir !== undefined ? ` in ${binDir}` : ' under /usr/lib/postgresql/*/bin or on $PATH';
  throw new MissingDependencyError('postgres', `postgres and initdb were not found${where}; ${INSTALL_HINT}`);
}

interface OsUser {
  readonly uid: number;
  readonly gid: number;
}

/** The `postgres` system user when the lab runs as root; undefined otherwise (run as ourselves). */
function serverOsUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // handled below
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'postgres' && f[2] && f[3]) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new MissingDependencyError(
    'postgres (system user)',
    `PostgreSQL refuses to run as root and there is no "postgres" user; ${INSTALL_HINT} (it creates the user)`,
  );
}

function canTraverse(st: { uid: number; gid: number; mode: number }, user: OsUser): boolean {
  if (st.uid === user.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === user.gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * Makes sure the server user can reach `dir`: every folder on the way must
 * be traversable. Folders inside the temp dir (ours, from mkdtemp) get o+x;
 * anything else that blocks the way is reported, never changed.
 */
async function ensureTraversable(dir: string, user: OsUser): Promise<void> {
  const tmp = resolve(tmpdir());
  let d = resolve(dir);
  for (;;) {
    const st = await stat(d);
    if (!canTraverse(st, user)) {
      if (d.startsWith(tmp + sep)) {
        await chmod(d, (st.mode & 0o7777) | 0o001);
      } else {
        throw new ProviderStartError(
          'postgres',
          `the postgres user cannot reach ${dir} because ${d} is not traversable for it; use a work dir under ${tmp}`,
        );
      }
    }
    const parent = dirname(d);
    if (parent === d) return;
    d = parent;
  }
}

/** `cp -a` keeps ownership when run as root; if the owner is not the server user anyway, chown -R. */
async function ensureOwnedBy(dir: string, user: OsUser): Promise<void> {
  const top = await stat(dir);
  const inner = await stat(join(dir, 'PG_VERSION'));
  if (top.uid !== user.uid || inner.uid !== user.uid) {
    await execFileP('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  }
}

// ---------------------------------------------------------------------------
// The template cache

function defaultTemplateDir(major: number): string {
  const base = process.env.LAB_CACHE_DIR || join(homedir(), '.cache', 'chaos-lab');
  return join(base, `pg${major}-template`);
}

async function templateState(dir: string, major: number): Promise<'ready' | 'absent' | 'foreign'> {
  try {
    const v = (await readFile(join(dir, 'PG_VERSION'), 'utf8')).trim();
    return v === String(major) ? 'ready' : 'foreign';
  } catch {
    try {
      return (await readdir(dir)).length === 0 ? 'absent' : 'foreign';
    } catch {
      return 'absent';
    }
  }
}

function lostRace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}

/** Returns the template dir, creating it with initdb if needed. */
async function ensureTemplate(bins: PgBinaries, cacheDir: string, user: OsUser | undefined): Promise<string> {
  const state = await templateState(cacheDir, bins.major);
  if (state === 'ready') return cacheDir;
  if (state === 'foreign') {
    throw new InvalidArgumentError(
      'templateCacheDir',
      cacheDir,
      `a missing or empty folder, or a PostgreSQL ${bins.major} template made by the lab`,
    );
  }
  await mkdir(dirname(cacheDir), { recursive: true });
  // initdb runs in a private temp folder (registered for cleanup, reapable),
  // because the cache location may not be reachable for the postgres user.
  const staging = await createWorkDir('chaos-lab-pginit-');
  try {
    const parent = join(staging.path, 'pg');
    const data = join(parent, 'data');
    await mkdir(parent, { mode: 0o700 });
    if (user) {
      await chown(parent, user.uid, user.gid);
      await ensureTraversable(parent, user);
    }
    const logFile = join(staging.path, 'initdb.log');
    const proc = await ManagedProcess.spawn({
      name: 'initdb',
      command: bins.initdb,
      args: [
        '-D',
        data,
        '-A',
        'trust',
        '-U',
        POSTGRES_USER,
        '--no-sync',
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
        '--no-instructions',
      ],
      cwd: parent,
      logFile,
      ...(user && { uid: user.uid, gid: user.gid }),
    });
    if (proc.pid !== undefined) await recordPid(staging.path, proc.pid, bins.initdb);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 120_000)));
    const outcome = await Promise.race([proc.exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') await proc.kill();
    const exit = await proc.stop();
    if (outcome === 'timeout' || exit.code !== 0) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new ProviderStartError(
        'postgres',
        `initdb ${outcome === 'timeout' ? 'did not finish within 120 s' : `failed (code ${exit.code}, signal ${exit.signal})`}:\n${log.trimEnd()}\n`,
      );
    }
    // Publish with one rename: all or nothing, so an existing cache dir is complete.
    try {
      await rename(data, cacheDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') {
        // Different filesystem: copy next to the cache dir first, then rename there.
        const sibling = `${cacheDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
        try {
          await execFileP('cp', ['-a', '--', data, sibling]);
          await rename(sibling, cacheDir);
        } catch (err2) {
          if (!lostRace(err2)) throw err2;
        } finally {
          await rm(sibling, { recursive: true, force: true });
        }
      } else if (!lostRace(err)) {
        throw err;
      }
      // lostRace: another process published its template first; use that one.
    }
  } finally {
    await staging.remove();
  }
  if ((await templateState(cacheDir, bins.major)) !== 'ready') {
    throw new ProviderStartError('postgres', `the template cache ${cacheDir} is not usable after initdb`);
  }
  return cacheDir;
}

// ---------------------------------------------------------------------------
// Starting

interface ResolvedConfig {
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
      await execFileP('cp', ['-a', '--', template, cfg.dataDir]);
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

/**
 * `CREATE DATABASE <name>` through the server at `adminUrl` (a local server or a container alike). A name
 * that is not a plain identifier is rejected, naming it, before anything is sent.
 */
export async function createDatabaseAt(adminUrl: string, name: string): Promise<void> {
  if (typeof name !== 'string' || !DATABASE_NAME_RE.test(name)) {
    throw new InvalidArgumentError('database', name, `a name matching ${DATABASE_NAME_RE.source}`);
  }
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end().catch(() => {});
  }
}

function connectionString(port: number, database: string): string {
  return `postgres://${POSTGRES_USER}@${LOOPBACK}:${port}/${encodeURIComponent(database)}`;
}

/** Answers with the server's data_directory, proving the answer comes from our server. */
async function dataDirectoryOf(port: number): Promise<string | undefined> {
  const client = new pg.Client({
    connectionString: connectionString(port, 'postgres'),
    connectionTimeoutMillis: 1_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query<{ d: string }>(`SELECT current_setting('data_directory') AS d`);
    return r.rows[0]?.d;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Every live process of the server: postmaster and children (same binary, cwd in the data dir). */
function serverProcesses(cfg: ResolvedConfig): number[] {
  return findProcessesInDir(cfg.dataDir, [cfg.bins.postgres]);
}

async function killTree(cfg: ResolvedConfig, proc: ManagedProcess): Promise<void> {
  const all = serverProcesses(cfg);
  proc.signal('SIGKILL'); // the postmaster first, so it cannot fork replacements
  for (const pid of all) signalPid(pid, 'SIGKILL');
  await proc.exited;
  await waitForProcessesGone(all, 5_000);
  await removeOrphanSharedMemory(cfg.dataDir);
}

async function launch(cfg: ResolvedConfig, port: number): Promise<ManagedProcess | typeof PORT_IN_USE> {
  const settings = [
    `listen_addresses=${LOOPBACK}`,
    'fsync=off',
    `synchronous_commit=${cfg.synchronousCommit ? 'on' : 'off'}`,
    'full_page_writes=off',
    'max_connections=200',
  ];
  const r = await launchServer({
    component: 'postgres',
    spawn: {
      name: 'postgres',
      command: cfg.bins.postgres,
      args: ['-D', cfg.dataDir, '-p', String(port), '-k', cfg.socketDir, ...settings.flatMap((s) => ['-c', s])],
      cwd: cfg.dataDir,
      logFile: cfg.logFile,
      stopTimeoutMs: cfg.stopTimeoutMs,
      ...(cfg.user && { uid: cfg.user.uid, gid: cfg.user.gid }),
    },
    readyWhat: 'a query answered by the new server',
    ready: async () => (await dataDirectoryOf(port)) === cfg.dataDir,
    timeoutMs: cfg.startTimeoutMs,
    killAll: (proc) => killTree(cfg, proc),
  });
  if (r !== PORT_IN_USE && r.pid !== undefined) {
    await recordPid(cfg.workDir, r.pid, cfg.bins.postgres, { stopSignal: 'SIGINT' });
  }
  return r;
}

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
      killSync: () => this.killSync(),
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
      else await this.killLeftovers();
    });
  }

  processes(): number[] {
    return serverProcesses(this.cfg);
  }

  async pause(): Promise<void> {
    this.freeze();
  }

  async resume(): Promise<void> {
    this.thaw();
  }

  private freeze(): void {
    if (!this.proc.running) return;
    this.proc.pause(); // the postmaster first, so it starts nothing new
    for (const pid of serverProcesses(this.cfg)) signalPid(pid, 'SIGSTOP');
  }

  private thaw(): void {
    for (const pid of serverProcesses(this.cfg)) if (pid !== this.proc.pid) signalPid(pid, 'SIGCONT');
    this.proc.resume();
  }

  /** Fast shutdown of a running server; then make sure nothing of it is left. */
  private async shutdown(): Promise<void> {
    if (this.proc.running) {
      this.thaw(); // a stopped backend would hold up the shutdown
      await this.proc.stop('SIGINT');
    }
    await this.killLeftovers();
  }

  /** Processes of an earlier postmaster that died without taking its children along. */
  private async killLeftovers(): Promise<void> {
    const left = serverProcesses(this.cfg);
    for (const pid of left) signalPid(pid, 'SIGKILL');
    await waitForProcessesGone(left, 5_000);
    await removeOrphanSharedMemory(this.cfg.dataDir);
  }

  /** The 'exit' path: nothing async runs any more, so kill the tree synchronously. */
  private killSync(): void {
    const all = serverProcesses(this.cfg);
    this.proc.signal('SIGKILL');
    for (const pid of all) signalPid(pid, 'SIGKILL');
    waitForProcessesGoneSync(all, 1_000);
    removeOrphanSharedMemorySync(this.cfg.dataDir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
