/**
 * Runs a fault plan against a live system. Each fault has its own timeline:
 * wait until its time, record `nemesis start`, start it, hold it for its
 * duration, end it, record `nemesis end` with its evidence. Faults whose
 * windows overlap in the plan run at the same time.
 *
 * The plan's order is kept where it says something: a fault starts only once
 * every fault planned to end before its time has really ended (a fault can
 * run late — a restart waits for readiness, a commit-boundary crash for its
 * crash), so a plan of faults one after another runs exactly as one nemesis
 * always did. Two overlapping faults that hold a resource in common (the same
 * instance's process, the same link; see resources.ts) are handled the same
 * way: the later starts once the earlier has ended, and then holds for its
 * full duration. The mixed planner never plans such pairs; this is for plans
 * written by hand. So two faults are only ever on together when the plan
 * has them on together, and — intervals that meet pairwise all meet at one
 * point — any set of faults on at once is one the plan has on at once: the
 * planner's rules (at least one instance in service) hold at run time, late
 * faults or not.
 *
 * A fault that fails to start is recorded with the error (and counts as not
 * taking effect); the others go on. On abort no further fault starts, every
 * fault already started is ended at once, and the returned promise resolves
 * once they all have.
 */
import type { HistoryRecorder } from '@chaos-lab/model';
import type { ActiveFault, FaultImplementation, FaultSpec, NemesisContext, PlannedFault } from './types.js';
import { implementationOf, faultResources } from './catalogue.js';
import { shareResource } from './resources.js';
import { secondsLeft, withCountdown } from '../progress.js';

export interface NemesisOptions {
  /** `performance.now()` of the workload's start: a fault's `at` counts from here. */
  readonly t0: number;
  readonly signal?: AbortSignal;
  /** Told what happens, a line each: each fault's start and window, and what a fault waits for (its context's `progress`). */
  readonly progress?: (line: string) => void;
  /** Told when a fault becomes active and when it ends (live metrics). */
  readonly onFault?: (f: { label: string; kind: string; target?: string }, active: boolean) => void;
  /** Where a fault's implementation comes from. Default: the catalogue (tests inject their own). */
  readonly implementationOf?: (spec: FaultSpec) => FaultImplementation;
}

export async function runNemesis(
  plan: readonly PlannedFault[],
  ctx: NemesisContext,
  recorder: HistoryRecorder,
  opts: NemesisOptions,
): Promise<void> {
  const impl = opts.implementationOf ?? implementationOf;
  const sleep = (ms: number) => abortableSleep(ms, opts.signal);
  const ids = ctx.instances.all.map((x) => x.id);
  // Stable: faults planned at the same time keep the plan's order.
  const faults = [...plan].sort((a, b) => a.at - b.at);
  const holds = faults.map((f) => faultResources(f.spec, ids));
  const done: Promise<void>[] = [];
  // A fault's own long waits (an instance's readiness, a crash it waits for) count down on the runner's sink.
  const faultCtx: NemesisContext = { ...ctx, progress: opts.progress };

  const runOne = async (f: PlannedFault, after: readonly Promise<void>[]) => {
    await sleep(opts.t0 + f.at - performance.now());
    await Promise.all(after);
    if (opts.signal?.aborted) return;
    const implementation = impl(f.spec);
    const label = implementation.label(f.spec);
    const target = 'target' in f.spec ? f.spec.target : undefined;
    const where = target !== undefined ? { target } : {};
    recorder.nemesis('start', f.spec.kind, { ...where, detail: { label, spec: f.spec } });
    opts.progress?.(`lab: nemesis: ${label} for ${f.durationMs} ms`);
    const labels = { label, kind: f.spec.kind, ...where };
    opts.onFault?.(labels, true);
    let active: ActiveFault;
    try {
      active = await implementation.start(f.spec, faultCtx);
    } catch (err) {
      opts.onFault?.(labels, false);
      recorder.nemesis('end', f.spec.kind, {
        ...where,
        detail: { label, tookEffect: false, error: err instanceof Error ? err.message : String(err) },
      });
      return;
    }
    await withCountdown(sleep(f.durationMs), {
      progress: opts.progress,
      boundMs: f.durationMs,
      line: (left) => `lab: nemesis: ${label}: ${secondsLeft(left)} left of ${secondsLeft(f.durationMs)}`,
    });
    try {
      // Marked ended before the evidence is gathered: the fault's effect stops when it is undone.
      opts.onFault?.(labels, false);
      const evidence = await active.end();
      recorder.nemesis('end', f.spec.kind, {
        ...where,
        detail: { label, ...evidence.detail, tookEffect: evidence.tookEffect },
      });
    } catch (err) {
      recorder.nemesis('end', f.spec.kind, {
        ...where,
        detail: {
          label,
          tookEffect: false,
          error: `ending the fault failed: ${err instanceof Error ? err.message : String(err)}`,
        },
      });
    }
  };

  faults.forEach((f, i) => {
    const after = faults.flatMap((g, j) =>
      j < i && (g.at + g.durationMs <= f.at || shareResource(holds[i]!, holds[j]!))
        ? [done[j]!.catch(() => undefined)]
        : [],
    );
    done.push(runOne(f, after));
  });
  // runOne records what a fault does wrong; what still rejects (an unknown kind) is reported once every fault that
  // did start has ended, never while one is still on.
  const failed = (await Promise.allSettled(done)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Resolves after `ms`, or at once when the signal aborts (or has), leaving no listener behind. */
function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
