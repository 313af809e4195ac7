/**
 * The instances' lives in a seed's history: the report's timeline draws, per
 * instance, when it was started, ready, killed, paused, resumed, stopped,
 * when its process exited, and when it joined the consumer group — whichever
 * fault, backstop or crash was the cause.
 *
 * Process events come from the instances as the lab acts on them
 * ({@link CoordinatorInstances.onLifecycle}). Group joins happen inside the
 * coordinator, so they are read from its metrics (the gauge
 * `coordinator_group_joined_timestamp_seconds`, set on every join) every
 * `pollMs`: a new value is a join, recorded when seen, with the time the
 * instance gives it (`at`) when that time is plausible — after the previous
 * poll, by a second's margin, and not in the future (a skewed clock gives
 * neither).
 */
import type { HistoryRecorder } from '@chaos-lab/model';
import type { GroupMembership, LifecycleListener } from '../instances/instances.js';

/** What of an instance this needs (a `CoordinatorInstance`, or a test's fake). */
export interface WatchedInstance {
  readonly id: string;
  readonly running: boolean;
  readonly pid: number | undefined;
  onLifecycle(listener: LifecycleListener): () => void;
  groupMembership(timeoutMs?: number): Promise<GroupMembership | undefined>;
}

export interface InstanceHistoryOptions {
  /** How often each instance's group gauge is read, in ms. Default 500 (the join's time comes from the gauge). */
  readonly pollMs?: number;
  /** The wall clock the instances' join times are on (epoch ms). Default `Date.now`. */
  readonly epochNow?: () => number;
}

/** How far before the previous poll a reported join may lie and still be taken as its time. */
const JOIN_MARGIN_MS = 1000;

/**
 * Decides whether a membership read is a new join: the gauge moved to another non-zero value since the last
 * read (`last`: undefined before the first read, which is the baseline; 0 for a process not yet joined).
 */
export function isNewJoin(last: number | undefined, now: GroupMembership): boolean {
  return last !== undefined && now.joinedAtMs > 0 && now.joinedAtMs !== last;
}

/**
 * Records `running` for every instance up now, then each instance's events and group joins until `stop`
 * (which resolves once the polls have ended; twice is fine).
 */
export function recordInstanceHistory(
  instances: readonly WatchedInstance[],
  recorder: HistoryRecorder,
  o: InstanceHistoryOptions = {},
): { stop(): Promise<void> } {
  const pollMs = o.pollMs ?? 500;
  const epochNow = o.epochNow ?? Date.now;
  for (const x of instances) if (x.running) recorder.instance(x.id, 'running', pidOf(x.pid));
  const unsubscribe = instances.map((x) =>
    x.onLifecycle((e) =>
      recorder.instance(e.instance, e.event, {
        ...pidOf(e.pid),
        ...(e.detail !== undefined && { detail: e.detail }),
      }),
    ),
  );

  let stopped = false;
  const sleepers = new Set<() => void>();
  const sleep = () =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, pollMs);
      sleepers.add(wake);
    });
  const watch = async (x: WatchedInstance) => {
    let last: number | undefined;
    let previousPoll = recorder.elapsedMs();
    while (!stopped) {
      const m = await x.groupMembership(Math.max(pollMs, 1000));
      if (stopped) break;
      const now = recorder.elapsedMs();
      if (m !== undefined) {
        if (isNewJoin(last, m)) {
          const at = now - (epochNow() - m.joinedAtMs);
          recorder.instance(x.id, 'joined', {
            ...pidOf(x.pid),
            ...(at >= previousPoll - JOIN_MARGIN_MS && { at }),
            detail: { partitions: m.owned },
          });
        }
        last = m.joinedAtMs;
      } else if (!x.running) {
        last = 0; // its next process starts without a join
      }
      previousPoll = now;
      await sleep();
    }
  };
  const polls = Promise.all(instances.map((x) => watch(x).catch(() => undefined)));
  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        unsubscribe.forEach((u) => u());
        for (const wake of [...sleepers]) wake();
        await polls;
      })()),
  };
}

const pidOf = (pid: number | undefined): { pid?: number } => (pid === undefined ? {} : { pid });
