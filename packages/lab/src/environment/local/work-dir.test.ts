/**
 * Work dirs and the reaper, with plain `sleep` processes standing in for
 * servers: the reaper must kill recorded processes of a dead owner, and
 * must never kill a process that merely has a recorded pid (other command or
 * other start time), nor touch the folder of a live owner. A folder without
 * an owner is taken only when old and unused; a dry run changes nothing.
 * (killed-from-outside.chaos.test.ts does the same with real labs and servers.)
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import { isProcessAlive, processStartTime, signalPid } from './proc.js';
import {
  createWorkDir,
  formatReapReport,
  reapStaleWorkDirs,
  reapWorkDirs,
  recordPid,
  STAGING_PREFIX,
  type ReapReport,
} from './work-dir.js';
import { findExecutable } from './launch.js';

const SLEEP = findExecutable('sleep')!;

function startSleeper(cwd?: string): { pid: number; exited: Promise<void> } {
  const child = spawn(SLEEP, ['60'], { stdio: 'ignore', ...(cwd !== undefined && { cwd }) });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { pid: child.pid!, exited };
}

/** A pid that certainly belongs to nobody right now: a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(SLEEP, ['0'], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('createWorkDir', () => {
  it('creates a private folder with owner.json, and remove() deletes it', async () => {
    const dir = await createWorkDir();
    expect(dir.path.startsWith(join(tmpdir(), 'chaos-lab-'))).toBe(true);
    const owner = JSON.parse(readFileSync(join(dir.path, 'owner.json'), 'utf8')) as Record<string, unknown>;
    expect(owner.pid).toBe(process.pid);
    expect(typeof owner.startedAt).toBe('string');
    expect(owner.procStartTime).toBe(processStartTime(process.pid));
    await dir.remove();
    await dir.remove();
    expect(existsSync(dir.path)).toBe(false);
  });

  it('is created under a staging name and renamed: no chaos-lab-* folder ever lacks its owner.json', async () => {
    await using dir = await createWorkDir();
    expect(basename(dir.path)).toMatch(/^chaos-lab-[A-Za-z0-9]{6}$/);
    expect(existsSync(join(dir.path, 'owner.json'))).toBe(true);
    const staging = (await readdir(tmpdir())).filter((n) => n.startsWith(`${STAGING_PREFIX}${process.pid}-`));
    expect(staging).toEqual([]);
  });

  it('rejects a prefix the reaper would not find', async () => {
    await expect(createWorkDir('other-')).rejects.toMatchObject({ constructor: InvalidArgumentError, field: 'prefix' });
  });

  it('recordPid writes to the work dir that owns a subfolder', async () => {
    await using dir = await createWorkDir();
    await mkdir(join(dir.path, 'redis', 'data'), { recursive: true });
    // A pid that has exited: removing the folder waits for a live recorded process to be gone.
    const pid = await deadPid();
    await recordPid(join(dir.path, 'redis', 'data'), pid, process.execPath, { stopSignal: 'SIGINT' });
    const rec = JSON.parse(readFileSync(join(dir.path, 'pids'), 'utf8')) as Record<string, unknown>;
    expect(rec).toMatchObject({ pid, command: process.execPath, stopSignal: 'SIGINT' });
  });
});

describe('reapStaleWorkDirs', () => {
  it('kills only still-matching recorded processes of dead owners and removes their folders', async () => {
    // A private scan root, so the test sees only its own folders.
    const root = await mkdtemp(join(tmpdir(), 'reap-test-'));
    const victim = startSleeper(); // recorded correctly: must be killed
    const wrongCommand = startSleeper(); // recorded as another program: must survive
    const recycled = startSleeper(); // right program, wrong start time (a recycled pid): must survive
    const liveOwned = startSleeper(); // in the folder of a live owner: must survive
    try {
      const stale = join(root, 'chaos-lab-stale');
      await mkdir(stale);
      await writeFile(join(stale, 'owner.json'), JSON.stringify({ pid: await deadPid(), startedAt: 'x' }));
      await recordPid(stale, victim.pid, SLEEP);
      await recordPid(stale, wrongCommand.pid, '/usr/bin/redis-server');
      const line = { pid: recycled.pid, command: SLEEP, procStartTime: 1, recordedAt: 'x' };
      await writeFile(join(stale, 'pids'), JSON.stringify(line) + '\n', { flag: 'a' });

      const live = join(root, 'chaos-lab-live');
      await mkdir(live);
      await writeFile(
        join(live, 'owner.json'),
        JSON.stringify({ pid: process.pid, startedAt: 'x', procStartTime: processStartTime(process.pid) }),
      );
      await recordPid(live, liveOwned.pid, SLEEP);

      const noOwner = join(root, 'chaos-lab-no-owner');
      await mkdir(noOwner);

      const reaped = await reapStaleWorkDirs({ tmpDir: root, graceMs: 2_000 });
      expect(reaped.map((r) => r.path)).toEqual([stale]);
      expect(reaped[0]!.killed).toEqual([{ pid: victim.pid, command: SLEEP }]);
      await victim.exited;
      expect(isProcessAlive(wrongCommand.pid)).toBe(true);
      expect(isProcessAlive(recycled.pid)).toBe(true);
      expect(isProcessAlive(liveOwned.pid)).toBe(true);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(existsSync(noOwner)).toBe(true);
    } finally {
      for (const s of [victim, wrongCommand, recycled, liveOwned]) signalPid(s.pid, 'SIGKILL');
      await Promise.all([victim, wrongCommand, recycled, liveOwned].map((s) => s.exited));
      await rm(root, { recursive: true, force: true });
    }
  });

  it('treats an owner pid that now belongs to another process (other start time) as dead', async () => {
    const root = await mkdtemp(join(tmpdir(), 'reap-test-'));
    try {
      const dir = join(root, 'chaos-lab-recycled-owner');
      await mkdir(dir);
      await writeFile(join(dir, 'owner.json'), JSON.stringify({ pid: process.pid, startedAt: 'x', procStartTime: 1 }));
      const reaped = await reapStaleWorkDirs({ tmpDir: root });
      expect(reaped.map((r) => r.path)).toEqual([dir]);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a staging folder is judged by the pid in its name: reaped when that process is dead, kept while alive', async () => {
    const root = await mkdtemp(join(tmpdir(), 'reap-test-'));
    try {
      const dead = join(root, `${STAGING_PREFIX}${await deadPid()}-AbC123`);
      const alive = join(root, `${STAGING_PREFIX}${process.pid}-XyZ789`);
      await mkdir(dead);
      await mkdir(alive);
      const report = await reapWorkDirs({ tmpDir: root });
      expect(report.reaped.map((r) => [r.path, r.reason])).toEqual([
        [dead, expect.stringMatching(/died while creating it/)],
      ]);
      expect(report.kept.map((k) => k.path)).toEqual([alive]);
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(alive)).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a folder without owner.json is taken only once unchanged for a while and used by no process', async () => {
    const root = await mkdtemp(join(tmpdir(), 'reap-test-'));
    const old = Date.now() / 1000 - 3600;
    const makeOld = async (dir: string) => {
      await mkdir(join(dir, 'redis'), { recursive: true });
      await writeFile(join(dir, 'redis', 'dump.rdb'), Buffer.alloc(64 * 1024));
      await utimes(join(dir, 'redis'), old, old);
      await utimes(dir, old, old);
    };
    const fresh = join(root, 'chaos-lab-fresh');
    const used = join(root, 'chaos-lab-used');
    const left = join(root, 'chaos-lab-left');
    await mkdir(fresh);
    await makeOld(used);
    await makeOld(left);
    const user = startSleeper(used); // its cwd is inside: maybe a lab creating the folder right now
    try {
      const report = await reapWorkDirs({ tmpDir: root, ownerlessAfterMs: 60_000 });
      expect(report.reaped.map((r) => r.path)).toEqual([left]);
      expect(report.reaped[0]).toMatchObject({
        ownerPid: undefined,
        reason: expect.stringMatching(/^no owner.json, unchanged for 60 min and used by no process/),
      });
      expect(report.reaped[0]!.bytes).toBeGreaterThanOrEqual(64 * 1024);
      const kept = Object.fromEntries(report.kept.map((k) => [k.path, k.reason]));
      expect(kept[fresh]).toMatch(/^no owner.json, and changed \d+ s ago/);
      expect(kept[used]).toMatch(new RegExp(`^no owner.json, but in use by pid ${user.pid} \\(.*sleep.*, cwd\\)`));
      expect(existsSync(left)).toBe(false);
      expect(existsSync(used)).toBe(true);
      expect(existsSync(fresh)).toBe(true);
      expect(isProcessAlive(user.pid)).toBe(true);
    } finally {
      signalPid(user.pid, 'SIGKILL');
      await user.exited;
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a dry run stops nothing and deletes nothing, and says what it would do and how much it would free', async () => {
    const root = await mkdtemp(join(tmpdir(), 'reap-test-'));
    const server = startSleeper();
    try {
      const stale = join(root, 'chaos-lab-stale');
      await mkdir(stale);
      await writeFile(join(stale, 'owner.json'), JSON.stringify({ pid: await deadPid(), startedAt: 'then' }));
      await writeFile(join(stale, 'data'), Buffer.alloc(256 * 1024));
      await recordPid(stale, server.pid, SLEEP);
      const live = join(root, 'chaos-lab-live');
      await mkdir(live);
      await writeFile(
        join(live, 'owner.json'),
        JSON.stringify({ pid: process.pid, startedAt: 'now', procStartTime: processStartTime(process.pid) }),
      );
      const report = await reapWorkDirs({ tmpDir: root, dryRun: true });
      expect(report.dryRun).toBe(true);
      expect(report.reaped).toHaveLength(1);
      expect(report.reaped[0]).toMatchObject({ path: stale, killed: [{ pid: server.pid, command: SLEEP }] });
      expect(report.reaped[0]!.bytes).toBeGreaterThanOrEqual(256 * 1024);
      expect(report.kept).toMatchObject([{ path: live, reason: `its owner, pid ${process.pid}, is alive` }]);
      expect(isProcessAlive(server.pid)).toBe(true);
      expect(existsSync(stale)).toBe(true);
      const text = formatReapReport(report);
      expect(text).toMatch(
        new RegExp(
          `^would remove ${stale} \\(2\\d\\d\\.\\d KiB\\): its owner, pid \\d+ \\(since then\\), is gone; would stop sleep \\(pid ${server.pid}\\)$`,
          'm',
        ),
      );
      expect(text).toMatch(new RegExp(`^kept ${live} \\(.*\\): its owner, pid ${process.pid}, is alive$`, 'm'));
      expect(text).toMatch(/^would reap 1 work dir\(s\), 2\d\d\.\d KiB$/m);

      // For real now; the live owner's folder is still not touched.
      const done = await reapWorkDirs({ tmpDir: root, graceMs: 2_000 });
      expect(done.reaped.map((r) => r.path)).toEqual([stale]);
      await server.exited;
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      signalPid(server.pid, 'SIGKILL');
      await server.exited;
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('formatReapReport', () => {
  it('says nothing to reap when nothing was', () => {
    const report: ReapReport = { dryRun: false, reaped: [], kept: [] };
    expect(formatReapReport(report)).toBe('nothing to reap');
  });
});
