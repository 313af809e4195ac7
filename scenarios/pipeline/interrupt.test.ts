/**
 * A scenario killed mid-run (SIGTERM, as CI or a terminal would) leaves no
 * process and no temp dir behind. Runs the suite through the lab's command line as a real child
 * process, collects every descendant while the workload runs, then kills it.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The lab's command line, the one entry point of every suite (`lab run <suite>`). */
const labCli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'lab', 'dist', 'cli.js');

function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = t.slice(t.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

const alive = (pid: number) => {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
};

function descendants(root: number): number[] {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const kids = new Map<number, number[]>();
  for (const pid of all) {
    const s = stat(pid);
    if (s) kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const walk = (p: number) => (kids.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(root);
  return out.filter(alive);
}

function workDirsOf(pid: number): string[] {
  return readdirSync(tmpdir())
    .filter((d) => d.startsWith('chaos-lab-'))
    .map((d) => join(tmpdir(), d))
    .filter((d) => {
      try {
        return (JSON.parse(readFileSync(join(d, 'owner.json'), 'utf8')) as { pid: number }).pid === pid;
      } catch {
        return false;
      }
    });
}

describe('a scenario killed mid-run', () => {
  it('leaves no process and no temp dir behind', async () => {
    const runs = mkdtempSync(join(tmpdir(), 'pipeline-interrupt-'));
    try {
      const child = spawn(process.execPath, [labCli, 'run', 'pipeline', '--seed', '5'], {
        env: { ...process.env, LAB_RUNS_DIR: runs },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout.resume();
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const deadline = Date.now() + 90_000;
      while (!/lab: published/.test(err)) {
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`scenario never reached the workload:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const pids = descendants(child.pid!);
      const dirs = workDirsOf(child.pid!);
      // redis, postgres (+ its backends), the kafka host and three coordinators at least
      expect(pids.length).toBeGreaterThanOrEqual(6);
      expect(dirs).toHaveLength(1);

      child.kill('SIGTERM');
      await exited;
      const stillThere = async () => pids.filter(alive);
      const until = Date.now() + 20_000;
      while ((await stillThere()).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(await stillThere()).toEqual([]);
      expect(dirs.filter((d) => existsSync(d))).toEqual([]);
    } finally {
      rmSync(runs, { recursive: true, force: true });
    }
  }, 150_000);
});
