/**
 * `lab env up` interrupted with Ctrl-C (SIGINT) must leave no process, no
 * temp dir and no port behind. Runs the built CLI as a real child process.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from './environment/local/proc.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('lab env up', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops every process and removes its work dir on %s',
    async (signal) => {
      const runs = mkdtempSync(join(tmpdir(), 'lab-cli-test-'));
      try {
        const child = spawn(process.execPath, [cli, 'env', 'up', '--instances', '1'], {
          env: { ...process.env, LAB_RUNS_DIR: runs },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise<number | null>((r) =>
          child.once('exit', (code, sig) => r(code ?? (sig ? -1 : null))),
        );
        await until(
          'the environment to be up',
          () => out.includes('Ctrl-C stops everything') || child.exitCode !== null,
          60_000,
        );
        expect(out).toContain('Ctrl-C stops everything');
        const pids = [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
        const ports = [...out.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
        const workDir = /work dir ([^)\s]+)\)/.exec(out)?.[1];
        expect(pids).toHaveLength(4); // redis, postgres, kafka host, one coordinator
        expect(workDir && existsSync(workDir)).toBe(true);
        for (const pid of pids) expect(isProcessAlive(pid)).toBe(true);

        child.kill(signal);
        await exited;
        await until('every process to be gone', () => pids.every((p) => !isProcessAlive(p)), 15_000);
        expect(existsSync(workDir!)).toBe(false);
        for (const port of new Set(ports)) expect(await portFree(port)).toBe(true);
      } finally {
        rmSync(runs, { recursive: true, force: true });
      }
    },
    90_000,
  );
});

describe('lab run, given a bad argument', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('close', (code) => resolve({ code, err }));
    });

  it('names the argument and what it expected, before anything starts', async () => {
    expect(await run(['no-such-suite'])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^lab: no suite "no-such-suite": expected one of batch-timeout, .*pipeline/),
    });
    expect((await run(['--all', '--skip', 'nope'])).err).toMatch(
      /^lab: --skip: expected suite names \(.*\) \(got "nope"\)/,
    );
    expect((await run(['pipeline', '--skip', 'fuzz'])).err).toMatch(/^lab: --skip: expected suite names after --all/);
    expect((await run(['--all', 'pipeline'])).err).toMatch(/^lab: lab run: expected either --all or suite names/);
    expect(await run(['pipeline', '--sed', '3'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(
        /^pipeline: lab run: expected one of its options: --seed N, --seeds A\.\.B\|N,M, .*--json.* \(got "--sed"\)\n$/,
      ),
    });
    expect((await run(['pipeline', '--seed'])).err).toBe(
      'pipeline: --seed: expected a value (--seed N) (got undefined)\n',
    );
    expect((await run(['--all', '--json'])).err).toMatch(/^lab: --json: expected one suite \(lab run <suite> --json\)/);
  }, 60_000);
});

describe('lab, given a command it does not know', () => {
  it('names it and the commands it knows, then prints the usage', async () => {
    const child = spawn(process.execPath, [cli, 'lsit'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(2);
    const [first, ...usage] = err.split('\n');
    expect(first).toBe(
      'lab: command: expected one of env up, run, list, report, replay, verdicts join, variants, shrink, reap (got "lsit")',
    );
    expect(usage[0]).toBe('usage:');
    for (const c of ['lab list', 'lab report <run folder>', 'lab replay <run folder>'])
      expect(usage.join('\n')).toContain(c);
  });
});
