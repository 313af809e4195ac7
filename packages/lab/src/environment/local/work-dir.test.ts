/**
 * Work dirs and the reaper, with plain `sleep` processes standing in for
 * servers: the reaper must kill recorded processes of a dead owner, and
 * must never kill a process that merely has a recorded pid (other command or
 * other start time), nor touch the folder of a live owner.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import { isProcessAlive, processStartTime, signalPid } from './proc.js';
import { createWorkDir, reapStaleWorkDirs, recordPid } from './work-dir.js';
import { findExecutable } from './launch.js';

const SLEEP = findExecutable('sleep')!;

function startSleeper(): { pid: number; exited: Promise<void> } {
  const child = spawn(SLEEP, ['60'], { stdio: 'ignore' });
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

  it('rejects a prefix the reaper would not find', async () => {
    await expect(createWorkDir('other-')).rejects.toMatchObject({ constructor: InvalidArgumentError, field: 'prefix' });
  });

  it('recordPid writes to the work dir that owns a subfolder', async () => {
    await using dir = await createWorkDir();
    await mkdir(join(dir.path, 'redis', 'data'), { recursive: true });
    await recordPid(join(dir.path, 'redis', 'data'), process.pid, process.execPath, { stopSignal: 'SIGINT' });
    const rec = JSON.parse(readFileSync(join(dir.path, 'pids'), 'utf8')) as Record<string, unknown>;
    expect(rec).toMatchObject({ pid: process.pid, command: process.execPath, stopSignal: 'SIGINT' });
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
});
