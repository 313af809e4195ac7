/**
 * End-to-end check of the cleanup paths with real servers: a child lab
 * process (fixtures/lab-with-servers.ts) starts Redis and PostgreSQL in a
 * work dir and is then ended by SIGINT, SIGTERM, an uncaught error, or
 * SIGKILL (after which reapStaleWorkDirs() must do the cleanup). Every time,
 * no server process may survive, the work dir must be gone and both ports
 * must be free again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isProcessAlive, sleep } from '../environment/local/proc.js';
import { reapStaleWorkDirs } from '../environment/local/work-dir.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/lab-with-servers.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface FixtureInfo {
  readonly workDir: string;
  readonly redisPid: number;
  readonly redisPort: number;
  readonly postgresPid: number;
  readonly postgresPort: number;
  readonly postgresProcesses: number[];
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Fixture {
  readonly child: ChildProcess;
  readonly info: FixtureInfo;
  readonly exited: Promise<Exit>;
  stderr(): string;
}

const started: Fixture[] = [];

async function startFixture(env: Record<string, string> = {}): Promise<Fixture> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const info = await new Promise<FixtureInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fixture did not report within 30 s: ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as FixtureInfo);
    });
    void exited.then((e) => reject(new Error(`fixture exited (${e.code}, ${e.signal}) before reporting: ${stderr}`)));
  });
  const f = { child, info, exited, stderr: () => stderr };
  started.push(f);
  return f;
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Live processes whose working directory is inside `dir` (even if `dir` was deleted meanwhile). */
function processesInside(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      if ((cwd === dir || cwd.startsWith(dir + '/')) && isProcessAlive(Number(name))) out.push(Number(name));
    } catch {
      // gone or a zombie
    }
  }
  return out;
}

/** Polls until the condition holds or the deadline passes, then asserts it once more for a clear message. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await sleep(25);
  expect(await check(), what).toBe(true);
}

async function expectEverythingReleased(info: FixtureInfo): Promise<void> {
  const pids = [info.redisPid, info.postgresPid, ...info.postgresProcesses];
  await eventually('server processes gone', () => pids.every((p) => !isProcessAlive(p)));
  await eventually('no process left inside the work dir', () => processesInside(info.workDir).length === 0);
  expect(existsSync(info.workDir), 'work dir removed').toBe(false);
  await eventually('redis port free', () => canBind(info.redisPort));
  await eventually('postgres port free', () => canBind(info.postgresPort));
}

afterEach(async () => {
  // A failed assertion must not leak a fixture or its servers.
  for (const f of started.splice(0)) {
    if (f.child.exitCode === null && f.child.signalCode === null) f.child.kill('SIGKILL');
    await f.exited;
    if (existsSync(f.info.workDir)) await reapStaleWorkDirs();
  }
});

describe('cleanup of a lab process that started Redis and PostgreSQL', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: the servers are stopped, the work dir removed, the ports freed`, async () => {
      const f = await startFixture();
      expect(isProcessAlive(f.info.redisPid)).toBe(true);
      expect(isProcessAlive(f.info.postgresPid)).toBe(true);
      f.child.kill(signal);
      const exit = await within(f.exited, 20_000, 'fixture exit');
      expect(exit.signal).toBe(signal); // the registry re-raises the signal after cleaning up
      await expectEverythingReleased(f.info);
    }, 60_000);
  }

  it('uncaught error: the exit hook kills the servers and removes the work dir', async () => {
    const f = await startFixture({ FIXTURE_THROW: '1' });
    const exit = await within(f.exited, 20_000, 'fixture exit');
    expect(exit.code).toBe(1);
    expect(f.stderr()).toMatch(/deliberate uncaught error/);
    await expectEverythingReleased(f.info);
  }, 60_000);

  it('SIGKILL: nothing can run in the lab, so reapStaleWorkDirs() stops the servers and removes the dir', async () => {
    const f = await startFixture();
    f.child.kill('SIGKILL');
    const exit = await within(f.exited, 20_000, 'fixture exit');
    expect(exit.signal).toBe('SIGKILL');
    // the servers outlived their owner
    expect(isProcessAlive(f.info.redisPid)).toBe(true);
    expect(isProcessAlive(f.info.postgresPid)).toBe(true);
    expect(existsSync(f.info.workDir)).toBe(true);

    const reaped = await reapStaleWorkDirs();
    const mine = reaped.find((r) => r.path === f.info.workDir);
    expect(mine).toBeDefined();
    expect(mine!.ownerPid).toBe(f.child.pid);
    expect(mine!.killed.map((k) => k.pid).sort()).toEqual([f.info.redisPid, f.info.postgresPid].sort());
    await expectEverythingReleased(f.info);

    // a second pass has nothing left to do for that dir
    expect((await reapStaleWorkDirs()).find((r) => r.path === f.info.workDir)).toBeUndefined();
  }, 60_000);
});
