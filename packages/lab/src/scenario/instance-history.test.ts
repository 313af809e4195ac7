import { HistoryRecorder, type InstanceEntry } from '@chaos-lab/model';
import { describe, expect, it } from 'vitest';
import type { GroupMembership, LifecycleListener } from '../instances/instances.js';
import { isNewJoin, recordInstanceHistory, type WatchedInstance } from './instance-history.js';

/** An instance the test drives: its lifecycle events and the gauge its metrics would show. */
class FakeInstance implements WatchedInstance {
  running = true;
  pid: number | undefined;
  membership: GroupMembership | undefined;
  reads = 0;
  private readonly listeners = new Set<LifecycleListener>();

  constructor(
    readonly id: string,
    pid: number,
    joinedAtMs: number,
  ) {
    this.pid = pid;
    this.membership = { joinedAtMs, owned: 6 };
  }

  onLifecycle(listener: LifecycleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  tell(event: 'killed' | 'exited' | 'started', detail?: Record<string, unknown>): void {
    for (const l of this.listeners) l({ instance: this.id, event, pid: this.pid, ...(detail && { detail }) });
  }

  async groupMembership(): Promise<GroupMembership | undefined> {
    this.reads++;
    return this.running ? this.membership : undefined;
  }
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe('isNewJoin', () => {
  it('is a move of the gauge to another non-zero value after the first read', () => {
    expect(isNewJoin(undefined, { joinedAtMs: 5000, owned: 3 })).toBe(false); // the baseline
    expect(isNewJoin(5000, { joinedAtMs: 5000, owned: 3 })).toBe(false);
    expect(isNewJoin(5000, { joinedAtMs: 9000, owned: 3 })).toBe(true);
    expect(isNewJoin(0, { joinedAtMs: 0, owned: 0 })).toBe(false); // a new process, not joined yet
    expect(isNewJoin(0, { joinedAtMs: 9000, owned: 3 })).toBe(true);
  });
});

describe('recordInstanceHistory', () => {
  it('records who was running, what happened to each process, and each new group join with its own time', async () => {
    let clock = 1000;
    const recorder = new HistoryRecorder({ now: () => clock });
    const epoch = 1_700_000_000_000; // history time 0
    const a = new FakeInstance('coordinator-1', 11, epoch - 30_000);
    const b = new FakeInstance('coordinator-2', 12, epoch - 30_000);
    const stopped = new FakeInstance('coordinator-3', 13, 0);
    stopped.running = false;
    const watch = recordInstanceHistory([a, b, stopped], recorder, {
      pollMs: 5,
      epochNow: () => epoch + (clock - 1000),
    });
    await until(() => a.reads >= 2 && b.reads >= 2);

    clock = 3000; // history time 2000
    b.tell('killed');
    b.running = false;
    b.tell('exited', { code: null, signal: 'SIGKILL' });
    await until(() => b.reads >= 4);
    b.pid = 14;
    b.running = true;
    b.tell('started');
    b.membership = { joinedAtMs: 0, owned: 0 };
    await until(() => b.reads >= 6);
    clock = 4500; // history time 3500; the new process joined at 3400 by its clock
    b.membership = { joinedAtMs: epoch + 3400, owned: 9 };
    await until(() => recorder.entries.some((e) => e.type === 'instance' && e.event === 'joined'));
    await watch.stop();
    await watch.stop();

    const entries = recorder.entries as InstanceEntry[];
    expect(entries.map((e) => [e.instance, e.event, e.pid ?? null])).toEqual([
      ['coordinator-1', 'running', 11],
      ['coordinator-2', 'running', 12],
      ['coordinator-2', 'killed', 12],
      ['coordinator-2', 'exited', 12],
      ['coordinator-2', 'started', 14],
      ['coordinator-2', 'joined', 14],
    ]);
    expect(entries[3]!.detail).toEqual({ code: null, signal: 'SIGKILL' });
    expect(entries[5]).toMatchObject({ time: 3500, at: 3400, detail: { partitions: 9 } });

    // After stop, nothing more is recorded.
    b.tell('killed');
    expect(recorder.entries).toHaveLength(6);
  });

  it('records a join without `at` when the time the instance gives it is not plausible (a skewed clock)', async () => {
    let clock = 0;
    const recorder = new HistoryRecorder({ now: () => clock });
    const x = new FakeInstance('coordinator-1', 11, 1000);
    const watch = recordInstanceHistory([x], recorder, { pollMs: 5, epochNow: () => 100_000 + clock });
    await until(() => x.reads >= 2);
    clock = 20_000;
    x.membership = { joinedAtMs: 50_000, owned: 3 }; // "70 s ago" by its clock: before the previous poll
    await until(() => recorder.entries.some((e) => e.type === 'instance' && e.event === 'joined'));
    await watch.stop();
    const joined = recorder.entries.find((e) => e.type === 'instance' && e.event === 'joined');
    expect(joined).toMatchObject({ time: 20_000 });
    expect(joined).not.toHaveProperty('at');
  });
});
