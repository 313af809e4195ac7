/**
 * A real redis-server for one lab run, started as a child process of the lab.
 *
 * Why this shape:
 *  - Configuration is given on the command line only (no config file): the
 *    whole setup is visible in `ps` and in the log, and nothing is shared
 *    between runs.
 *  - Bound to 127.0.0.1 on a port the kernel hands out, so parallel runs
 *    never collide; the data folder lives in the run's work dir.
 *  - "Ready" means INFO was answered *by this very process* (its
 *    `process_id` equals our child's pid). A plain PING could be answered by
 *    another server that grabbed the port first.
 *  - `restart({ keepData: false })` wipes the data folder: this is the lab's
 *    "Redis restart with data loss" fault. With `persistence: 'aof-always'`
 *    every write is fsynced before it is acknowledged, so even `kill()`
 *    (SIGKILL) followed by `restart({ keepData: true })` loses nothing.
 *  - Every pid is recorded in the work dir so a crashed lab's servers can be
 *    reaped later (see work-dir.ts).
 */
import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import type { ManagedProcess } from '../../process/managed-process.js';
import {
  InvalidArgumentError,
  LabError,
  LabTimeoutError,
  MissingDependencyError,
  ProviderStartError,
} from '../../errors.js';
import {
  LOOPBACK,
  OperationQueue,
  PORT_IN_USE,
  checkPort,
  findExecutable,
  launchServer,
  withPortRetry,
} from './launch.js';
import { findProcessesInDir, signalPid, waitForProcessesGone } from './proc.js';
import { recordPidSync } from './work-dir.js';

import type { RedisPersistence, StartedRedisServer } from '../contract.js';

export type { RedisPersistence, StartedRedisServer };

/** Options of {@link RedisServer.start}. */
export interface RedisServerOptions {
  /** Folder for this server; its data goes to `<workDir>/data`. Created if missing. */
  readonly workDir: string;
  /** File that receives the server's output (appended across restarts). */
  readonly logFile: string;
  /** Port on 127.0.0.1. Default: a free port from the kernel (retried with a new one if taken meanwhile). */
  readonly port?: number;
  /** Default `'none'`. */
  readonly persistence?: RedisPersistence;
  /** Redis `maxmemory`: bytes, or a redis size string such as `'64mb'`. Default: no limit. */
  readonly maxmemory?: number | string;
  /** The redis-server binary. Default: `redis-server` found on $PATH. */
  readonly binary?: string;
  /** How long to wait for readiness. Default 10 000 ms. */
  readonly startTimeoutMs?: number;
  /** Grace period after SIGTERM before SIGKILL on stop. Default 10 000 ms. */
  readonly stopTimeoutMs?: number;
}

const MAXMEMORY_RE = /^\d+(b|k|kb|m|mb|g|gb)?$/i;

interface ResolvedConfig {
  readonly binary: string;
  readonly workDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly persistence: RedisPersistence;
  readonly maxmemory: string | undefined;
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
}

async function start(options: RedisServerOptions): Promise<StartedRedisServer> {
  checkPort(options.port);
  const persistence = options.persistence ?? 'none';
  if (persistence !== 'none' && persistence !== 'aof-always') {
    throw new InvalidArgumentError('persistence', persistence, `'none' or 'aof-always'`);
  }
  let maxmemory: string | undefined;
  if (options.maxmemory !== undefined) {
    maxmemory = String(options.maxmemory);
    const ok =
      typeof options.maxmemory === 'number'
        ? Number.isSafeInteger(options.maxmemory) && options.maxmemory >= 0
        : MAXMEMORY_RE.test(maxmemory);
    if (!ok) throw new InvalidArgumentError('maxmemory', options.maxmemory, 'a byte count or a size like "64mb"');
  }
  const binary = findExecutable(options.binary ?? 'redis-server');
  if (binary === undefined) {
    throw new MissingDependencyError(
      options.binary ?? 'redis-server',
      'install it with: apt-get install -y redis-server',
    );
  }
  const workDir = resolve(options.workDir);
  const cfg: ResolvedConfig = {
    binary,
    workDir,
    dataDir: join(workDir, 'data'),
    logFile: resolve(options.logFile),
    persistence,
    maxmemory,
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
  };
  await mkdir(cfg.dataDir, { recursive: true });
  const { port, proc } = await withPortRetry('redis', options.port, async (port) => {
    const r = await launch(cfg, port);
    return r === PORT_IN_USE ? r : { port, proc: r };
  });
  return new RedisInstance(cfg, port, proc);
}

/** Starts Redis servers. */
export const RedisServer: { start(options: RedisServerOptions): Promise<StartedRedisServer> } = { start };

function argsFor(cfg: ResolvedConfig, port: number): string[] {
  const settings: [string, string][] = [
    ['bind', LOOPBACK],
    ['port', String(port)],
    ['dir', cfg.dataDir],
    ['protected-mode', 'no'],
    ['daemonize', 'no'],
    ['save', ''], // no RDB snapshots
  ];
  if (cfg.persistence === 'aof-always') settings.push(['appendonly', 'yes'], ['appendfsync', 'always']);
  else settings.push(['appendonly', 'no']);
  if (cfg.maxmemory !== undefined) settings.push(['maxmemory', cfg.maxmemory]);
  return settings.flatMap(([name, value]) => [`--${name}`, value]);
}

async function launch(cfg: ResolvedConfig, port: number): Promise<ManagedProcess | typeof PORT_IN_USE> {
  const r = await launchServer({
    component: 'redis',
    spawn: {
      name: 'redis',
      command: cfg.binary,
      args: argsFor(cfg, port),
      cwd: cfg.dataDir,
      logFile: cfg.logFile,
      stopTimeoutMs: cfg.stopTimeoutMs,
      // Recorded for the reaper in the spawn's own tick, not once ready: a lab SIGKILLed while the server
      // starts must not leave a server that nobody knows of.
      onSpawn: (pid) => recordPidSync(cfg.workDir, pid, cfg.binary),
    },
    readyWhat: 'INFO answered by the new server',
    ready: async (proc) => (await serverPid(port)) === proc.pid,
    timeoutMs: cfg.startTimeoutMs,
    killAll: async (proc) => {
      await proc.kill();
    },
  });
  return r;
}

class RedisInstance implements StartedRedisServer {
  readonly host = LOOPBACK;
  private readonly ops = new OperationQueue();

  constructor(
    private readonly cfg: ResolvedConfig,
    readonly port: number,
    private proc: ManagedProcess,
  ) {}

  get url(): string {
    return `redis://${LOOPBACK}:${this.port}`;
  }
  get pid(): number {
    return this.proc.pid ?? -1;
  }
  get running(): boolean {
    return this.proc.running;
  }
  get persistence(): RedisPersistence {
    return this.cfg.persistence;
  }
  get dataDir(): string {
    return this.cfg.dataDir;
  }
  get logFile(): string {
    return this.cfg.logFile;
  }

  stop(): Promise<void> {
    return this.ops.run(async () => {
      await this.proc.stop('SIGTERM');
      await this.killLeftovers();
    });
  }

  restart(options: { readonly keepData: boolean }): Promise<void> {
    if (typeof options?.keepData !== 'boolean') {
      return Promise.reject(new InvalidArgumentError('keepData', options?.keepData, 'true or false'));
    }
    return this.ops.run(async () => {
      if (this.proc.running) {
        if (options.keepData && this.cfg.persistence === 'none') {
          this.proc.resume();
          const reply = await redisCommand(this.port, ['SAVE'], 30_000);
          if (reply.kind !== '+') {
            throw new ProviderStartError('redis', `SAVE before the restart failed: ${reply.value}`, {
              logFile: this.cfg.logFile,
            });
          }
        }
        await this.proc.stop('SIGTERM');
      }
      await this.killLeftovers();
      if (!options.keepData) {
        await rm(this.cfg.dataDir, { recursive: true, force: true });
        await mkdir(this.cfg.dataDir, { recursive: true });
      }
      const r = await launch(this.cfg, this.port);
      if (r === PORT_IN_USE) {
        throw new ProviderStartError('redis', `port ${this.port} was taken while the server was down`, {
          retriable: true,
          logFile: this.cfg.logFile,
        });
      }
      this.proc = r;
    });
  }

  kill(): Promise<void> {
    return this.ops.run(async () => {
      const helpers = findProcessesInDir(this.cfg.dataDir, [this.cfg.binary]).filter((p) => p !== this.proc.pid);
      await this.proc.kill();
      for (const pid of helpers) signalPid(pid, 'SIGKILL');
      await waitForProcessesGone(helpers, 2_000);
    });
  }

  async pause(): Promise<void> {
    this.proc.pause();
  }

  async resume(): Promise<void> {
    this.proc.resume();
  }

  /** A forked child (BGSAVE / AOF rewrite) can outlive a killed parent: same binary, cwd in the data dir. */
  private async killLeftovers(): Promise<void> {
    const left = findProcessesInDir(this.cfg.dataDir, [this.cfg.binary]);
    for (const pid of left) signalPid(pid, 'SIGKILL');
    await waitForProcessesGone(left, 2_000);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

// ---------------------------------------------------------------------------
// A minimal RESP client: one command per connection, no retries, no queue.
// Enough for readiness probes and SAVE; tests and services use ioredis.

interface RespReply {
  readonly kind: '+' | '-' | ':' | '$';
  readonly value: string | null;
}

function encode(args: readonly string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

function parseReply(buf: Buffer): RespReply | undefined {
  const eol = buf.indexOf('\r\n');
  if (eol < 0) return undefined;
  const kind = String.fromCharCode(buf[0] ?? 0);
  const line = buf.subarray(1, eol).toString('utf8');
  if (kind === '+' || kind === '-' || kind === ':') return { kind, value: line };
  if (kind === '$') {
    const len = Number(line);
    if (len < 0) return { kind, value: null };
    if (buf.length < eol + 2 + len + 2) return undefined;
    return { kind, value: buf.subarray(eol + 2, eol + 2 + len).toString('utf8') };
  }
  return { kind: '-', value: `unexpected reply type ${JSON.stringify(kind)}` };
}

/** Sends one command to 127.0.0.1:port and returns the first reply. */
function redisCommand(port: number, args: readonly string[], timeoutMs = 1_000): Promise<RespReply> {
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    let buf = Buffer.alloc(0);
    const sock = connect({ host: LOOPBACK, port });
    const done = (err: Error | undefined, reply?: RespReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolvePromise(reply as RespReply);
    };
    const timer = setTimeout(
      () => done(new LabTimeoutError(`a reply from Redis on port ${port}`, timeoutMs)),
      timeoutMs,
    );
    sock.once('error', (err) => done(err));
    sock.once('close', () => done(new LabError(`Redis on port ${port} closed the connection`, { retriable: true })));
    sock.once('connect', () => sock.write(encode(args)));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const reply = parseReply(buf);
      if (reply) done(undefined, reply);
    });
  });
}

/** `process_id` from INFO server, or undefined if the server is not answering (yet). */
async function serverPid(port: number): Promise<number | undefined> {
  const reply = await redisCommand(port, ['INFO', 'server'], 500);
  if (reply.kind !== '$' || reply.value === null) return undefined;
  const m = /^process_id:(\d+)/m.exec(reply.value);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}
