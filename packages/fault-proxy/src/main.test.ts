/**
 * The server as its own process: the built `dist/main.js`, as a parent
 * process would run it. Run `tsc -b` first (`npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Toxiproxy } from 'toxiproxy-node-client';
import { portOf, sleep, startEchoServer, TestClient, withTimeout } from './test-helpers.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function firstLine(child: ChildProcess): Promise<string> {
  if (!child.stdout) throw new Error('child has no stdout pipe');
  const lines = createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing a line`)));
  });
}

/** Gone, or a zombie nobody reaps (a container's PID 1 may not). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

describe('fault-proxy process', { timeout: 15_000 }, () => {
  it('is built (run tsc -b before the tests)', () => {
    expect(existsSync(main), `${main} is missing`).toBe(true);
  });

  it('prints a ready line, serves the API and proxies, and exits 0 on SIGTERM', async () => {
    await using echo = await startEchoServer();
    const child = spawn(process.execPath, [main, '--host', '127.0.0.1', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exit = exited(child);
    try {
      const ready = JSON.parse(await withTimeout(firstLine(child), 10_000, 'ready line')) as {
        ready: boolean;
        url: string;
      };
      expect(ready).toEqual({ ready: true, url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown });

      const toxiproxy = new Toxiproxy(ready.url);
      const proxy = await toxiproxy.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: echo.address });
      const client = await TestClient.connect(portOf(proxy.listen));
      await client.roundTrip('through another process', 2_000);

      child.kill('SIGTERM');
      expect(await withTimeout(exit, 5_000, 'exit after SIGTERM')).toEqual({ code: 0, signal: null });
      // The proxy's connections went with it.
      await client.waitForClose(2_000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('exits with 2 and names the argument when it is bad', async () => {
    const child = spawn(process.execPath, [main, '--port', 'eighty'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const { code } = await withTimeout(exited(child), 5_000, 'exit');
    expect(code).toBe(2);
    expect(stderr).toContain('--port: expected an integer from 0 to 65535 (got "eighty")');
  });

  it('exits by itself when its parent is SIGKILLed', async () => {
    // A parent that starts the server, reports the server's pid, then idles.
    const parentScript = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, [${JSON.stringify(main)}, '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.once('data', () => console.log(child.pid));
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['-e', parentScript], { stdio: ['ignore', 'pipe', 'ignore'] });
    let serverPid: number | undefined;
    try {
      serverPid = Number(await withTimeout(firstLine(parent), 10_000, 'server pid'));
      expect(isGone(serverPid)).toBe(false);
      parent.kill('SIGKILL');
      const deadline = Date.now() + 5_000;
      while (!isGone(serverPid) && Date.now() < deadline) await sleep(100);
      expect(isGone(serverPid)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
      if (serverPid !== undefined && !isGone(serverPid)) process.kill(serverPid, 'SIGKILL');
    }
  });

  it('exits at once when the --parent-pid it was given is no longer its parent (it died during the start)', async () => {
    // Its parent here is this test, alive: the pid it is told of is not its parent, as when the lab that spawned
    // it died before it got to watch (read then, its ppid would be the new one, and it would never end).
    const child = spawn(process.execPath, [main, '--port', '0', '--parent-pid', '1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      expect(await withTimeout(exited(child), 5_000, 'exit')).toEqual({ code: 0, signal: null });
      expect(stderr).toContain('parent 1 is gone');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
