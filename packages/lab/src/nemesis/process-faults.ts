/**
 * Process faults on coordinator instances: kill -9, pause (SIGSTOP) longer
 * than the Kafka session timeout — the zombie that wakes up still believing
 * it owns its partitions — graceful and rolling restarts, and the crash at
 * a boundary between two durable steps of one input, through one of the
 * coordinator's fail-points: after its database transaction committed and
 * before its Kafka offset did (`after-commit-before-offset`), or after its
 * Redis proposal and before its database transaction
 * (`after-cache-before-store`).
 */
import { readFileSync, statSync } from 'node:fs';
import type { ActiveFault, FaultDefinition, NemesisContext } from './definition.js';
import { InvalidArgumentError, LabError } from '../errors.js';
import { parsePrometheus, sum } from './metrics.js';
import { storeLinks, targetsOf } from './resources.js';
import type { CoordinatorInstance } from '../instances/instances.js';
import { secondsLeft, withCountdown } from '../progress.js';

/**
 * The coordinator's crash points (its `COORDINATOR_FAILPOINTS` names), each between two durable steps of one
 * input: after the Postgres commit and before the Kafka offset (a consumer that is not idempotent duplicates
 * work there), and after the Redis proposal and before the Postgres transaction (Redis ahead of Postgres; a
 * consumer that commits offsets early loses the input, and the rest of its settled-together run).
 */
export const COMMIT_CRASH_POINTS = ['after-commit-before-offset', 'after-cache-before-store'] as const;
export type CommitCrashPoint = (typeof COMMIT_CRASH_POINTS)[number];

/** SIGKILL; the instance is started again when the fault ends. */
export interface KillSpec {
  readonly kind: 'kill';
  readonly target: string;
}
/** SIGSTOP for the whole window (longer than the session timeout: a zombie), SIGCONT at the end. */
export interface PauseSpec {
  readonly kind: 'pause';
  readonly target: string;
}
/** Graceful restart (SIGTERM, start, ready). */
export interface RestartSpec {
  readonly kind: 'restart';
  readonly target: string;
}
/** Every instance restarted in turn, each ready before the next goes down. */
export interface RollingRestartSpec {
  readonly kind: 'rolling-restart';
}
/**
 * Every instance restarted in turn onto the current build, from the baseline build it ran (an earlier commit),
 * each ready before the next goes down: old and new versions side by side in between. Only a suite with a
 * baseline plans it (the mixed nemesis never draws it).
 */
export interface RollingUpgradeSpec {
  readonly kind: 'rolling-upgrade';
}
/**
 * The instance restarts with a fail-point that SIGKILLs it the `nth` time it reaches `at` (one of
 * {@link COMMIT_CRASH_POINTS}: between two durable steps of one input); started clean at the end.
 */
export interface CommitBoundaryCrashSpec {
  readonly kind: 'commit-boundary-crash';
  readonly target: string;
  readonly nth: number;
  readonly at: CommitCrashPoint;
}

/** The instance a fault on one instance takes out of service. */
const itsTarget = (s: { target: string }, ids: readonly string[]) => targetsOf(s.target, ids);

/** A kill took effect when the instance died of SIGKILL. */
export function killTookEffect(exit: { signal: NodeJS.Signals | null }): boolean {
  return exit.signal === 'SIGKILL';
}

/** A pause took effect when the process was seen stopped (`T` in /proc) while paused. */
export function pauseTookEffect(stateWhilePaused: string | undefined): boolean {
  return stateWhilePaused === 'T';
}

/** A graceful restart took effect when the old life exited cleanly and a new process took its place. */
export function restartTookEffect(exitCode: number | null, oldPid: number | undefined, newPid: number | undefined) {
  return exitCode === 0 && newPid !== oldPid;
}

/** A rolling restart took effect when every instance runs in a new process. */
export function rollingRestartTookEffect(
  before: readonly (number | undefined)[],
  after: readonly (number | undefined)[],
): boolean {
  return after.every((p, i) => p !== before[i]);
}

interface InstanceLife {
  readonly pid: number | undefined;
  readonly entry: string;
}

/** A rolling upgrade took effect when every instance moved, in a new process, from another build onto `to`. */
export function rollingUpgradeTookEffect(
  before: readonly InstanceLife[],
  after: readonly InstanceLife[],
  to: string,
): boolean {
  return after.every((a, i) => a.entry === to && a.pid !== before[i]!.pid && before[i]!.entry !== to);
}

/**
 * A commit-boundary crash took effect when the instance died of SIGKILL in the window (the lab sent none, so it
 * was the fail-point's); when it did not, fewer inputs consumed than the fail-point's count means it had no
 * opportunity (`consumed` undefined: the instance was not running to say).
 */
export function commitCrashJudgement(
  crashed: { signal: NodeJS.Signals | null } | undefined,
  consumed: number | undefined,
  nth: number,
): { tookEffect: boolean; noOpportunity: boolean } {
  const tookEffect = crashed?.signal === 'SIGKILL';
  return { tookEffect, noOpportunity: !tookEffect && consumed !== undefined && consumed < nth };
}

function instance(ctx: NemesisContext, id: string) {
  const x = ctx.instances.all.find((i) => i.id === id);
  if (!x) throw new InvalidArgumentError('target', id, `one of ${ctx.instances.all.map((i) => i.id).join(', ')}`);
  return x;
}

/** How a process fault's own lines begin: `lab: nemesis: kill coordinator-2: `. */
function saying(spec: { kind: string; target?: string }): string {
  return `lab: nemesis: ${spec.kind}${spec.target === undefined ? '' : ` ${spec.target}`}: `;
}

/**
 * Stops `x` (SIGTERM, SIGKILL after its stop timeout), counting down on the run's progress sink: a stop that hangs
 * takes the whole timeout. Its exit code.
 */
function stopped(ctx: NemesisContext, spec: { kind: string; target?: string }, x: CoordinatorInstance) {
  return withCountdown(x.stop(), {
    progress: ctx.progress,
    boundMs: x.stopTimeoutMs,
    line: (left) =>
      `${saying(spec)}waiting for ${x.id} to stop: ${secondsLeft(left)} left of ${secondsLeft(x.stopTimeoutMs)} before SIGKILL`,
  });
}

/**
 * Awaits `started` (by default `x`'s /readyz; `x.startReady()` for a start that retries on a taken port, whose
 * retry waits anew), counting down on the run's progress sink: on a loaded machine a start can take seconds.
 */
function ready(
  ctx: NemesisContext,
  spec: { kind: string; target?: string },
  x: CoordinatorInstance,
  started: Promise<void> = x.waitReady(),
) {
  return withCountdown(started, {
    progress: ctx.progress,
    boundMs: x.readyTimeoutMs,
    line: (left) =>
      `${saying(spec)}waiting for ${x.id} to be ready: ${secondsLeft(left)} left of ${secondsLeft(x.readyTimeoutMs)}`,
  });
}

function procState(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return t.slice(t.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** How long a paused instance's process may take to show the stopped state before the pause is judged without effect. */
const PAUSE_SEEN_WITHIN_MS = 2000;

/** Polls the process' state until it is `want` or `withinMs` has passed; the last state read. */
export async function stateWithin(
  pid: number | undefined,
  want: string,
  withinMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + withinMs;
  let state = procState(pid);
  while (state !== want && state !== undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    state = procState(pid);
  }
  return state;
}

export const kill: FaultDefinition<KillSpec> = {
  kind: 'kill',
  family: 'process',
  description: 'SIGKILL an instance; it is started again when the window ends',
  label: (s) => `kill -9 ${s.target}`,
  holds: (s) => [`process:${s.target}`],
  make: ({ rng, instanceIds }) => ({ kind: 'kill', target: rng.pick(instanceIds) }),
  disables: itsTarget,
  async start(spec, ctx): Promise<ActiveFault> {
    const x = instance(ctx, spec.target);
    const pid = x.pid;
    await x.kill();
    const exit = await x.exited();
    return {
      async end() {
        await x.start();
        await ready(ctx, spec, x);
        return { tookEffect: killTookEffect(exit), detail: { pid, exit, restartedPid: x.pid } };
      },
    };
  },
};

export const pause: FaultDefinition<PauseSpec> = {
  kind: 'pause',
  family: 'process',
  description: 'SIGSTOP an instance for the window (a zombie past its session timeout), SIGCONT at the end',
  label: (s) => `pause ${s.target}`,
  holds: (s) => [`process:${s.target}`],
  make: ({ rng, instanceIds }) => ({ kind: 'pause', target: rng.pick(instanceIds) }),
  // Sometimes past the session timeout the lab gives the coordinators (4 s): a zombie.
  durationMs: [2000, 5500],
  disables: itsTarget,
  async start(spec, ctx): Promise<ActiveFault> {
    const x = instance(ctx, spec.target);
    x.pause();
    // A thread acts on a pending SIGSTOP only when it next runs: on a loaded machine a runnable one can stay
    // "R" for a while (zombie-pause seed 1 on 22dbf87, four suites on two cores: still "R" 50 ms after the
    // signal, although its group later called it gone). So the state is looked at until it is "T", for a while.
    const state = await stateWithin(x.pid, 'T', PAUSE_SEEN_WITHIN_MS);
    return {
      async end() {
        x.resume();
        return { tookEffect: pauseTookEffect(state), detail: { pid: x.pid, stateWhilePaused: state } };
      },
    };
  },
};

export const restart: FaultDefinition<RestartSpec> = {
  kind: 'restart',
  family: 'process',
  description: 'graceful restart of an instance: SIGTERM, start, ready',
  label: (s) => `restart ${s.target}`,
  holds: (s) => [`process:${s.target}`, ...storeLinks([s.target])],
  make: ({ rng, instanceIds }) => ({ kind: 'restart', target: rng.pick(instanceIds) }),
  disables: itsTarget,
  async start(spec, ctx): Promise<ActiveFault> {
    const x = instance(ctx, spec.target);
    const pid = x.pid;
    const code = await stopped(ctx, spec, x);
    await x.start();
    await ready(ctx, spec, x);
    return {
      end: async () => ({
        tookEffect: restartTookEffect(code, pid, x.pid),
        detail: { oldPid: pid, exitCode: code, newPid: x.pid },
      }),
    };
  },
};

export const rollingRestart: FaultDefinition<RollingRestartSpec> = {
  kind: 'rolling-restart',
  family: 'process',
  description: 'every instance restarted in turn, each ready before the next goes down',
  label: () => 'rolling restart',
  holds: (_s, ids) => [...ids.map((id) => `process:${id}`), ...storeLinks(ids)],
  make: () => ({ kind: 'rolling-restart' }),
  // Its start does the work (every instance in turn, each ready before the next: seconds each, and every fault
  // planned after it waits for it); the window is what follows. A second one would add time, not news.
  durationMs: [500, 1000],
  maxPerPlan: 1,
  // One instance down at a time, whichever.
  disables: () => ['rolling-restart'],
  async start(spec, ctx): Promise<ActiveFault> {
    const before = ctx.instances.all.map((x) => x.pid);
    // What `x.restart()` does, one instance after another, each step counted down.
    for (const x of ctx.instances.all) {
      await stopped(ctx, spec, x);
      await ready(ctx, spec, x, x.startReady());
    }
    const after = ctx.instances.all.map((x) => x.pid);
    return { end: async () => ({ tookEffect: rollingRestartTookEffect(before, after), detail: { before, after } }) };
  },
};

export const rollingUpgrade: FaultDefinition<RollingUpgradeSpec> = {
  kind: 'rolling-upgrade',
  family: 'process',
  description: 'every instance moved in turn from the baseline build to the current one, old and new side by side',
  label: () => 'rolling upgrade',
  holds: (_s, ids) => [...ids.map((id) => `process:${id}`), ...storeLinks(ids)],
  // Never drawn: it needs instances on a baseline build, which only a suite with a baseline starts; such a
  // suite plans it itself.
  make: () => undefined,
  maxPerPlan: 1,
  disables: () => ['rolling-upgrade'],
  async start(spec, ctx): Promise<ActiveFault> {
    const to = ctx.upgradeEntry;
    if (to === undefined)
      throw new LabError('rolling-upgrade needs instances started on a baseline build (a suite with a baseline ref)');
    const before = ctx.instances.all.map((x) => ({ id: x.id, pid: x.pid, entry: x.entry }));
    // One at a time, each ready before the next goes down: for the length of this, old and new run side by side.
    for (const x of ctx.instances.all) {
      await stopped(ctx, spec, x);
      x.setEntry(to);
      await x.start();
      await ready(ctx, spec, x);
    }
    const after = ctx.instances.all.map((x) => ({ id: x.id, pid: x.pid, entry: x.entry }));
    return {
      end: async () => ({
        tookEffect: rollingUpgradeTookEffect(before, after, to),
        detail: { before, after },
      }),
    };
  },
};

/** How long after its window a commit-boundary fault may still wait for the crash. */
// A restarted member can need several attempts to join on the mock broker (each lands in the rebalance its
// own leave started): 15 s proved too short once in 20 seeds.
const COMMIT_CRASH_GRACE_MS = 30_000;

/** The exit of `exited` if it comes within `graceMs`, else undefined; no timer is left behind either way. */
async function exitWithin<E>(exited: Promise<E>, graceMs: number): Promise<E | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([exited, new Promise<undefined>((r) => (timer = setTimeout(r, graceMs, undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}

export const commitBoundaryCrash: FaultDefinition<CommitBoundaryCrashSpec> = {
  kind: 'commit-boundary-crash',
  family: 'process',
  description:
    'an instance SIGKILLed by a fail-point between two durable steps of one input, the nth time it gets there',
  label: (s) => `crash at ${s.at} #${s.nth}, ${s.target}`,
  holds: (s) => [`process:${s.target}`, ...storeLinks([s.target])],
  make: ({ rng, instanceIds }) => ({
    kind: 'commit-boundary-crash',
    target: rng.pick(instanceIds),
    nth: rng.int(1, 2),
    at: rng.pick(COMMIT_CRASH_POINTS),
  }),
  durationMs: [1500, 2500],
  // The restarted member needs seconds to rejoin before it gets messages to commit; a second crash might find
  // too few messages left to reach its count.
  startWithin: 0.15,
  maxPerPlan: 1,
  disables: itsTarget,
  async start(spec, ctx): Promise<ActiveFault> {
    // A plan file written before `at` existed, or edited by hand, must not start an instance the coordinator's
    // own configuration check stops.
    if (!(COMMIT_CRASH_POINTS as readonly unknown[]).includes(spec.at))
      throw new InvalidArgumentError('at', spec.at, `one of ${COMMIT_CRASH_POINTS.join(', ')}`);
    const x = instance(ctx, spec.target);
    // Not restart(): that waits for readiness, and the crash may well come first (its first messages can be
    // processed before /readyz answers).
    await stopped(ctx, spec, x);
    // The log is the instance's for the whole session: only what this life writes counts as evidence.
    const logFrom = statSync(x.logFile, { throwIfNoEntry: false })?.size ?? 0;
    await x.start({ COORDINATOR_FAILPOINTS: `${spec.at}=${spec.nth}` });
    const exited = x.exited();
    return {
      async end() {
        // The restarted instance first waits for its group to settle before it gets messages, so the crash may
        // come after the nominal window; give it a grace period rather than judging too early — saying so, since
        // the run is otherwise silent for as long as 30 s.
        const crashed = await withCountdown(exitWithin(exited, COMMIT_CRASH_GRACE_MS), {
          progress: ctx.progress,
          boundMs: COMMIT_CRASH_GRACE_MS,
          line: (left) =>
            `${saying(spec)}waiting for its crash at ${spec.at} (nth ${spec.nth}), ${secondsLeft(left)} left of the ${secondsLeft(COMMIT_CRASH_GRACE_MS)} grace`,
        });
        const reached = readFileSync(x.logFile).subarray(logFrom).toString('utf8').includes('fail-point reached');
        // What this life consumed, when it did not crash: fewer inputs than the fail-point's count means the
        // instance never had the chance (the mixed nemesis may arm it after the traffic, or the group may give it
        // no busy partition), which is not a fault that did nothing.
        const consumed =
          crashed === undefined && x.running
            ? sum(parsePrometheus(await x.metrics().catch(() => '')), 'coordinator_events_consumed_total')
            : undefined;
        // Back to a clean life either way: a fail-point never reached (no traffic) is reported, not hidden.
        if (x.running) await stopped(ctx, spec, x);
        await x.start();
        await ready(ctx, spec, x);
        const { tookEffect, noOpportunity } = commitCrashJudgement(crashed, consumed, spec.nth);
        return {
          tookEffect,
          detail: {
            exit: crashed ?? null,
            failpointReached: reached,
            ...(consumed !== undefined && { consumed }),
            ...(noOpportunity && { noOpportunity: true }),
          },
        };
      },
    };
  },
};
