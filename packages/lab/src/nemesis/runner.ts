/**
 * Runs a fault plan against a live system, in plan order: wait until the
 * fault's time, record `nemesis start`, start it, hold it for its duration,
 * end it, record `nemesis end` with its evidence. A fault that fails to
 * start is recorded with the error (and counts as not taking effect); the
 * nemesis goes on with the rest, and every started fault is ended even when
 * the run is being torn down.
 */
import type { HistoryRecorder } from '../history/history.js';
import type { ActiveFault, FaultImplementation, NemesisContext, PlannedFault } from './types.js';
import { implementationOf } from './catalogue.js';

export async function runNemesis(
  plan: readonly PlannedFault[],
  ctx: NemesisContext,
  recorder: HistoryRecorder,
  opts: {
    t0: number;
    signal?: AbortSignal;
    progress?: (line: string) => void;
    /** Told when a fault becomes active and when it ends (live metrics). */
    onFault?: (f: { label: string; kind: string; target?: string }, active: boolean) => void;
  },
): Promise<void> {
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || opts.signal?.aborted) return resolve();
      const t = setTimeout(resolve, ms);
      opts.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  for (const f of [...plan].sort((a, b) => a.at - b.at)) {
    await sleep(opts.t0 + f.at - performance.now());
    if (opts.signal?.aborted) return;
    const impl = implementationOf(f.spec) as FaultImplementation;
    const label = impl.label(f.spec as never);
    const target = 'target' in f.spec ? f.spec.target : undefined;
    recorder.nemesis('start', f.spec.kind, {
      ...(target !== undefined && { target }),
      detail: { label, spec: f.spec },
    });
    opts.progress?.(`lab: nemesis: ${label} for ${f.durationMs} ms`);
    const labels = { label, kind: f.spec.kind, ...(target !== undefined && { target }) };
    opts.onFault?.(labels, true);
    let active: ActiveFault | undefined;
    try {
      active = await impl.start(f.spec as never, ctx);
    } catch (err) {
      opts.onFault?.(labels, false);
      recorder.nemesis('end', f.spec.kind, {
        ...(target !== undefined && { target }),
        detail: { label, tookEffect: false, error: err instanceof Error ? err.message : String(err) },
      });
      continue;
    }
    await sleep(f.durationMs);
    try {
      // Marked ended before the evidence is gathered: the fault's effect stops when it is undone.
      opts.onFault?.(labels, false);
      const evidence = await active.end();
      recorder.nemesis('end', f.spec.kind, {
        ...(target !== undefined && { target }),
        detail: { label, ...evidence.detail, tookEffect: evidence.tookEffect },
      });
    } catch (err) {
      recorder.nemesis('end', f.spec.kind, {
        ...(target !== undefined && { target }),
        detail: {
          label,
          tookEffect: false,
          error: `ending the fault failed: ${err instanceof Error ? err.message : String(err)}`,
        },
      });
    }
  }
}
