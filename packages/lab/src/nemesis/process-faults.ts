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
import { COMMIT_CRASH_POINTS, type ActiveFault, type FaultImplementation, type NemesisContext } from './types.js';
import { InvalidArgumentError, LabError } from '../errors.js';
import { parsePrometheus, sum } from './metrics.js';

function instance(ctx: NemesisContext, id: string) {
  const x = ctx.instances.all.find((i) => i.id === id);
  if (!x) throw new InvalidArgumentError('target', id, `one of ${ctx.instances.all.map((i) => i.id).join(', ')}`);
  return x;
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

export const kill: FaultImplementation<'kill'> = {
  kind: 'kill',
  label: (s) => `kill -9 ${s.target}`,
  async start(spec, ctx): Promise<ActiveFault> {
    const x = instance(ctx, spec.target);
    const pid = x.pid;
    await x.kill();
    const exit = await x.exited();
    return {
      async end() {
        await x.start();
        await x.waitReady();
        return { tookEffect: exit.signal === 'SIGKILL', detail: { pid, exit, restartedPid: x.pid } };
      },
    };
  },
};

export const pause: FaultImplementation<'pause'> = {
  kind: 'pause',
  label: (s) => `pause ${s.target}`,
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
        return { tookEffect: state === 'T', detail: { pid: x.pid, stateWhilePaused: state } };
      },
    };
  },
};

export const restart: FaultImplementation<'restart'> = {
  kind: 'restart',
  label: (s) => `restart ${s.target}`,
  async start(spec, ctx): Promise<ActiveFault> {
    const x = instance(ctx, spec.target);
    const pid = x.pid;
    const code = await x.stop();
    await x.start();
    await x.waitReady();
    return {
      end: async () => ({
        tookEffect: code === 0 && x.pid !== pid,
        detail: { oldPid: pid, exitCode: code, newPid: x.pid },
      }),
    };
  },
};

export const rollingRestart: FaultImplementation<'rolling-restart'> = {
  kind: 'rolling-restart',
  label: () => 'rolling restart',
  async start(_spec, ctx): Promise<ActiveFault> {
    const before = ctx.instances.all.map((x) => x.pid);
    await ctx.instances.rollingRestart();
    const after = ctx.instances.all.map((x) => x.pid);
    return { end: async () => ({ tookEffect: after.every((p, i) => p !== before[i]), detail: { before, after } }) };
  },
};

export const rollingUpgrade: FaultImplementation<'rolling-upgrade'> = {
  kind: 'rolling-upgrade',
  label: () => 'rolling upgrade',
  async start(_spec, ctx): Promise<ActiveFault> {
    const to = ctx.upgradeEntry;
    if (to === undefined)
      throw new LabError('rolling-upgrade needs instances started on a baseline build (a suite with a baseline ref)');
    const before = ctx.instances.all.map((x) => ({ id: x.id, pid: x.pid, entry: x.entry }));
    // One at a time, each ready before the next goes down: for the length of this, old and new run side by side.
    for (const x of ctx.instances.all) {
      await x.stop();
      x.setEntry(to);
      await x.start();
      await x.waitReady();
    }
    const after = ctx.instances.all.map((x) => ({ id: x.id, pid: x.pid, entry: x.entry }));
    return {
      end: async () => ({
        tookEffect: after.every((a, i) => a.entry === to && a.pid !== before[i]!.pid && before[i]!.entry !== to),
        detail: { before, after },
      }),
    };
  },
};

/** How long after its window a commit-boundary fault may still wait for the crash. */
// A restarted member can need several attempts to join on the mock broker (each lands in the rebalance its
// own leave started): 15 s proved too short once in 20 seeds.
const COMMIT_CRASH_GRACE_MS = 30_000;

export const commitBoundaryCrash: FaultImplementation<'commit-boundary-crash'> = {
  kind: 'commit-boundary-crash',
  label: (s) => `crash at ${s.at} #${s.nth}, ${s.target}`,
  async start(spec, ctx): Promise<ActiveFault> {
    // A plan file written before `at` existed, or edited by hand, must not start an instance the coordinator's
    // own configuration check stops.
    if (!(COMMIT_CRASH_POINTS as readonly unknown[]).includes(spec.at))
      throw new InvalidArgumentError('at', spec.at, `one of ${COMMIT_CRASH_POINTS.join(', ')}`);
    const x = instance(ctx, spec.target);
    // Not restart(): that waits for readiness, and the crash may well come first (its first messages can be
    // processed before /readyz answers).
    await x.stop();
    // The log is the instance's for the whole session: only what this life writes counts as evidence.
    const logFrom = statSync(x.logFile, { throwIfNoEntry: false })?.size ?? 0;
    await x.start({ COORDINATOR_FAILPOINTS: `${spec.at}=${spec.nth}` });
    const exited = x.exited();
    return {
      async end() {
        // The restarted instance first waits for its group to settle before it gets messages, so the crash may
        // come after the nominal window; give it a grace period rather than judging too early.
        const crashed = await Promise.race([
          exited,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), COMMIT_CRASH_GRACE_MS)),
        ]);
        const reached = readFileSync(x.logFile).subarray(logFrom).toString('utf8').includes('fail-point reached');
        // What this life consumed, when it did not crash: fewer inputs than the fail-point's count means the
        // instance never had the chance (the mixed nemesis may arm it after the traffic, or the group may give it
        // no busy partition), which is not a fault that did nothing.
        const consumed =
          crashed === undefined && x.running
            ? sum(parsePrometheus(await x.metrics().catch(() => '')), 'coordinator_events_consumed_total')
            : undefined;
        // Back to a clean life either way: a fail-point never reached (no traffic) is reported, not hidden.
        if (x.running) await x.stop();
        await x.start();
        await x.waitReady();
        // The lab sent no signal during this window, so a SIGKILL exit is the fail-point's own.
        const tookEffect = crashed?.signal === 'SIGKILL';
        return {
          tookEffect,
          detail: {
            exit: crashed ?? null,
            failpointReached: reached,
            ...(consumed !== undefined && { consumed }),
            ...(!tookEffect && consumed !== undefined && consumed < spec.nth && { noOpportunity: true }),
          },
        };
      },
    };
  },
};
