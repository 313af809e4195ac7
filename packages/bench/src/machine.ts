/**
 * How busy the machine was with work that is not the bench's, per step. The
 * figures of a 2-core machine that other jobs share move with those jobs; a
 * reader of the table must be able to tell a slow step from a crowded one.
 *
 * From /proc: the machine's busy CPU time (/proc/stat, steal included — on a
 * VM that is someone else's work too) minus the CPU time of this process and
 * every process under it (the stack's servers and instances, the tools; a
 * child that exited is in its parent's cutime/cstime once reaped).
 */
import { readFile, readdir } from 'node:fs/promises';

/** Clock ticks per second of /proc's counters (USER_HZ; 100 on every Linux this runs on). */
export const TICKS_PER_SECOND = 100;

/** Busy and total ticks of all CPUs, from the first line of /proc/stat. */
export function parseProcStat(text: string): { busy: number; total: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no "cpu " line');
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** pid, parent pid, and CPU ticks of a process and its reaped children, from /proc/<pid>/stat. */
export function parsePidStat(text: string): { pid: number; ppid: number; ticks: number } | undefined {
  // The command name is in parentheses and may itself contain spaces and parentheses.
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // After the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
  const ppid = Number(f[1]);
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  if (!Number.isFinite(pid) || !Number.isFinite(ppid) || !Number.isFinite(ticks)) return undefined;
  return { pid, ppid, ticks };
}

/** Sum of ticks over `root` and every process below it. */
export function treeTicks(procs: readonly { pid: number; ppid: number; ticks: number }[], root: number): number {
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const ticks = new Map(procs.map((p) => [p.pid, p.ticks]));
  let sum = 0;
  const stack = [root];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    sum += ticks.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return sum;
}

interface CpuSample {
  readonly at: number;
  readonly busy: number;
  readonly total: number;
  readonly own: number;
}

async function sample(): Promise<CpuSample | undefined> {
  try {
    const at = performance.now();
    const stat = parseProcStat(await readFile('/proc/stat', 'utf8'));
    const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d));
    const procs = (
      await Promise.all(pids.map((p) => readFile(`/proc/${p}/stat`, 'utf8').then(parsePidStat, () => undefined)))
    ).filter((p) => p !== undefined);
    return { at, ...stat, own: treeTicks(procs, process.pid) };
  } catch {
    return undefined; // not Linux, or /proc not readable: the figure is left out
  }
}

export interface CpuUse {
  readonly seconds: number;
  /** Cores' worth of CPU used by this bench and everything it started. */
  readonly ownCores: number;
  /** Cores' worth of CPU used by everything else on the machine. */
  readonly otherCores: number;
}

/** Starts measuring; the returned function ends the interval. */
export async function cpuMeter(): Promise<() => Promise<CpuUse | undefined>> {
  const a = await sample();
  return async () => {
    const b = await sample();
    if (!a || !b || b.at <= a.at) return undefined;
    const seconds = (b.at - a.at) / 1000;
    const own = (b.own - a.own) / TICKS_PER_SECOND / seconds;
    const busy = (b.busy - a.busy) / TICKS_PER_SECOND / seconds;
    return { seconds, ownCores: own, otherCores: Math.max(0, busy - own) };
  };
}
