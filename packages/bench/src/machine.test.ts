import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePidStat, parseProcStat, treeTicks } from './machine.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('/proc parsing', () => {
  it('reads busy and total ticks from /proc/stat', () => {
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    expect(parseProcStat('cpu  100 2 30 400 5 0 7 1 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n')).toEqual({
      busy: 100 + 2 + 30 + 0 + 7 + 1,
      total: 140 + 400 + 5,
    });
    const real = parseProcStat(fixture('proc-stat.txt'));
    expect(real.busy).toBeGreaterThan(0);
    expect(real.total).toBeGreaterThan(real.busy);
    expect(() => parseProcStat('intr 1 2 3\n')).toThrow(/cpu/);
  });

  it('reads pid, parent and utime+stime+cutime+cstime of a process', () => {
    // init: utime 1104, stime 6862, cutime 983793, cstime 250057
    expect(parsePidStat(fixture('proc-pid-stat-1.txt'))).toEqual({
      pid: 1,
      ppid: 0,
      ticks: 1104 + 6862 + 983793 + 250057,
    });
  });

  it('is not thrown off by a command name with odd characters', () => {
    expect(parsePidStat(fixture('proc-pid-stat-kworker.txt'))).toEqual({ pid: 10, ppid: 2, ticks: 0 });
    expect(parsePidStat('42 (a) b (c)) S 7 0 0 0 -1 0 0 0 0 0 10 20 30 40 0')).toEqual({
      pid: 42,
      ppid: 7,
      ticks: 100,
    });
    expect(parsePidStat('garbage')).toBeUndefined();
  });

  it('sums a process tree and nothing outside it', () => {
    const procs = [
      { pid: 1, ppid: 0, ticks: 1000 },
      { pid: 10, ppid: 1, ticks: 5 }, // the bench
      { pid: 11, ppid: 10, ticks: 7 }, // a server it started
      { pid: 12, ppid: 11, ticks: 3 }, // that server's child
      { pid: 20, ppid: 1, ticks: 500 }, // someone else
    ];
    expect(treeTicks(procs, 10)).toBe(15);
    expect(treeTicks(procs, 20)).toBe(500);
    expect(treeTicks(procs, 99)).toBe(0);
  });
});
