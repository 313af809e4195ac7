import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process.js';

describe('ManagedProcess', () => {
  it('logs output, stops with SIGTERM, and treats a second stop as a no-op', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-test-'));
    try {
      const p = await ManagedProcess.spawn({
        name: 'sleeper',
        command: process.execPath,
        args: ['-e', 'console.log("hello"); setInterval(() => {}, 1000)'],
        logFile: join(dir, 'sleeper.log'),
      });
      await p.waitUntil('hello logged', async () => readFileSync(p.logFile, 'utf8').includes('hello'));
      const first = await p.stop();
      expect(first.signal).toBe('SIGTERM');
      const second = await p.stop();
      expect(second).toEqual(first);
      expect(p.running).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('escalates to SIGKILL when the process ignores SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-test-'));
    try {
      const p = await ManagedProcess.spawn({
        name: 'stubborn',
        command: process.execPath,
        args: ['-e', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)'],
        logFile: join(dir, 'stubborn.log'),
        onStdoutLine: () => {},
      });
      await p.waitUntil('up', async () => readFileSync(p.logFile, 'utf8').includes('up'));
      const info = await p.stop('SIGTERM', 300);
      expect(info.signal).toBe('SIGKILL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('asks a process that ignores SIGTERM for a diagnostic report before the SIGKILL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-test-'));
    try {
      const p = await ManagedProcess.spawn({
        name: 'stuck',
        command: process.execPath,
        args: [
          '--report-on-signal',
          '--report-signal=SIGUSR2',
          `--report-directory=${dir}`,
          '-e',
          'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)',
        ],
        logFile: join(dir, 'stuck.log'),
        diagnosticSignal: 'SIGUSR2',
      });
      await p.waitUntil('up', async () => readFileSync(p.logFile, 'utf8').includes('up'));
      const info = await p.stop('SIGTERM', 300);
      expect(info.signal).toBe('SIGKILL');
      const reports = readdirSync(dir).filter((f) => /^report\..*\.json$/.test(f));
      expect(reports).toHaveLength(1);
      const report = JSON.parse(readFileSync(join(dir, reports[0]!), 'utf8')) as { libuv: unknown[] };
      expect(report.libuv.length).toBeGreaterThan(0);
      const log = readFileSync(p.logFile, 'utf8');
      expect(log).toMatch(/asked for a diagnostic report \(SIGUSR2\)/);
      // And what the kernel said of it: the main thread asleep (in its event loop's wait), others listed.
      expect(log).toMatch(/lab: stuck at its stop timeout: threads: main S( in \w+)?; /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // A spinning event loop runs no JavaScript signal handler, so it writes no report (fuzz seed 5 on 04a4f4b:
  // 'main R', no report): its inspector, opened by SIGUSR1 from a thread of its own, pauses it and says where.
  it.each([
    ['a busy loop', 'function spinInALoop() { for (;;) {} }', 'spinInALoop', /^at spinInALoop \S+:1:\d+ ← /],
    [
      'promises that settle at once',
      'async function spinOnPromises() { for (;;) await null; }',
      'spinOnPromises',
      /^at spinOnPromises \S+:1:\d+/,
    ],
  ])('logs the JavaScript stack of a process that spins in %s instead of stopping', async (_what, fn, name, stack) => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-test-'));
    try {
      const script = join(dir, 'spinner.js');
      writeFileSync(
        script,
        `${fn}\nprocess.on("SIGTERM", () => ${name}()); console.log("up"); setInterval(() => {}, 1000);\n`,
      );
      const p = await ManagedProcess.spawn({
        name: 'spinner',
        command: process.execPath,
        args: ['--inspect-port=127.0.0.1:0', script],
        logFile: join(dir, 'spinner.log'),
        inspectOnHang: true,
      });
      await p.waitUntil('up', async () => readFileSync(p.logFile, 'utf8').includes('up'));
      const info = await p.stop('SIGTERM', 500);
      expect(info.signal).toBe('SIGKILL');
      const log = readFileSync(p.logFile, 'utf8');
      expect(log).toMatch(/lab: spinner at its stop timeout: threads: main R/);
      const line = /lab: spinner at its stop timeout, main thread (.*)/.exec(log)?.[1];
      expect(line).toMatch(stack);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('profiles the CPU of a chosen window through the inspector: the function that burns is in it, the one before is not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-test-'));
    try {
      const script = join(dir, 'burner.js');
      // Burns in `before` until told (a line on stdin would need a pipe; a file is simpler), then in `during`.
      writeFileSync(
        script,
        [
          'const fs = require("fs");',
          `const flag = ${JSON.stringify(join(dir, 'now'))};`,
          'function burn(ms) { const t = Date.now(); while (Date.now() - t < ms); }',
          'function before() { burn(5); }',
          'function during() { burn(5); }',
          'console.log("up");',
          'setInterval(() => (fs.existsSync(flag) ? during() : before()), 10);',
        ].join('\n'),
      );
      const p = await ManagedProcess.spawn({
        name: 'burner',
        command: process.execPath,
        args: ['--inspect-port=127.0.0.1:0', script],
        logFile: join(dir, 'burner.log'),
        inspectOnHang: true,
      });
      try {
        await p.waitUntil('up', async () => readFileSync(p.logFile, 'utf8').includes('up'));
        await new Promise((r) => setTimeout(r, 300));
        writeFileSync(join(dir, 'now'), '');
        await new Promise((r) => setTimeout(r, 100));
        const stop = await p.startCpuProfile(200);
        await new Promise((r) => setTimeout(r, 600));
        const profile = await stop();
        const hits = (name: string) =>
          profile.nodes.filter((n) => n.callFrame.functionName === name).reduce((a, n) => a + (n.hitCount ?? 0), 0);
        expect(hits('burn')).toBeGreaterThan(100);
        const ids = new Set(profile.nodes.filter((n) => n.callFrame.functionName === 'before').map((n) => n.id));
        const childrenOfBefore = profile.nodes.filter((n) => ids.has(n.id)).flatMap((n) => n.children ?? []);
        expect(childrenOfBefore).toEqual([]);
        expect(profile.samples?.length).toBe(profile.timeDeltas?.length);
        expect(profile.endTime - profile.startTime).toBeGreaterThan(500_000);
      } finally {
        await p.stop();
      }
      await expect(p.startCpuProfile()).rejects.toThrow(/burner: not a running process/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects with a named error when the binary does not exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mp-test-'));
    try {
      await expect(
        ManagedProcess.spawn({ name: 'ghost', command: '/nonexistent/bin', logFile: join(dir, 'g.log') }),
      ).rejects.toThrow(/ghost did not start/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
