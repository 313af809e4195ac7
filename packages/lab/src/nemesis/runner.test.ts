import { describe, expect, it } from 'vitest';
import { runNemesis } from './runner.js';
import type { FaultImplementation, FaultSpec, NemesisContext, PlannedFault } from './types.js';
import { HistoryRecorder, type HistoryEntry } from '@chaos-lab/model';

// Only the instance ids are read by the runner itself; the fake faults below touch nothing.
const ctx = {
  instances: { all: ['coordinator-1', 'coordinator-2', 'coordinator-3'].map((id) => ({ id })) },
} as unknown as NemesisContext;

interface Step {
  readonly what: 'start' | 'started' | 'end' | 'ended';
  readonly label: string;
  readonly t: number;
}

/** Fake faults: each records when it is asked to start and end, and takes `slow` ms (by label) to do either. */
function fakes(slow: Record<string, { start?: number; end?: number; fail?: boolean }> = {}) {
  const steps: Step[] = [];
  const t0 = performance.now();
  const at = () => Math.round(performance.now() - t0);
  const labelOf = (spec: FaultSpec) => ('target' in spec ? `${spec.kind} ${spec.target}` : spec.kind);
  const wait = (ms = 0) => new Promise((r) => setTimeout(r, ms));
  const impl: FaultImplementation = {
    label: (spec) => labelOf(spec),
    async start(spec) {
      const label = labelOf(spec);
      steps.push({ what: 'start', label, t: at() });
      await wait(slow[label]?.start);
      if (slow[label]?.fail) throw new Error(`${label} refused`);
      steps.push({ what: 'started', label, t: at() });
      return {
        async end() {
          steps.push({ what: 'end', label, t: at() });
          await wait(slow[label]?.end);
          steps.push({ what: 'ended', label, t: at() });
          return { tookEffect: true, detail: { label } };
        },
      };
    },
  };
  const time = (what: Step['what'], label: string) => steps.find((s) => s.what === what && s.label === label)?.t;
  return { steps, time, implementationOf: () => impl };
}

async function run(plan: PlannedFault[], f: ReturnType<typeof fakes>, signal?: AbortSignal) {
  const recorder = new HistoryRecorder();
  await runNemesis(plan, ctx, recorder, {
    t0: performance.now(),
    implementationOf: f.implementationOf,
    ...(signal && { signal }),
  });
  return recorder.entries.filter((e): e is Extract<HistoryEntry, { type: 'nemesis' }> => e.type === 'nemesis');
}

const kill = (target: string): FaultSpec => ({ kind: 'kill', target });
const pause = (target: string): FaultSpec => ({ kind: 'pause', target });

describe('runNemesis', () => {
  it('runs faults whose windows overlap at the same time', async () => {
    const f = fakes();
    const history = await run(
      [
        { at: 0, durationMs: 300, spec: kill('coordinator-1') },
        { at: 100, durationMs: 300, spec: pause('coordinator-2') },
      ],
      f,
    );
    expect(f.time('start', 'pause coordinator-2')).toBeLessThan(f.time('end', 'kill coordinator-1')!);
    expect(f.time('start', 'pause coordinator-2')).toBeGreaterThanOrEqual(90);
    expect(history.map((e) => `${e.phase} ${e.target}`)).toEqual([
      'start coordinator-1',
      'start coordinator-2',
      'end coordinator-1',
      'end coordinator-2',
    ]);
    expect(history.every((e) => e.phase === 'start' || e.detail?.tookEffect === true)).toBe(true);
  });

  it('keeps a plan of faults one after another in order, however late one ends', async () => {
    // The first fault takes 300 ms to end: the second, planned after its window, waits for it.
    const f = fakes({ 'kill coordinator-1': { end: 300 } });
    await run(
      [
        { at: 0, durationMs: 50, spec: kill('coordinator-1') },
        { at: 100, durationMs: 50, spec: kill('coordinator-2') },
      ],
      f,
    );
    expect(f.time('start', 'kill coordinator-2')).toBeGreaterThanOrEqual(f.time('ended', 'kill coordinator-1')!);
  });

  it('starts the later of two overlapping faults on one instance once the earlier has ended, for its full window', async () => {
    const f = fakes();
    await run(
      [
        { at: 0, durationMs: 200, spec: kill('coordinator-1') },
        { at: 50, durationMs: 200, spec: pause('coordinator-1') },
      ],
      f,
    );
    const ended = f.time('ended', 'kill coordinator-1')!;
    expect(f.time('start', 'pause coordinator-1')).toBeGreaterThanOrEqual(ended);
    expect(f.time('end', 'pause coordinator-1')! - f.time('started', 'pause coordinator-1')!).toBeGreaterThanOrEqual(
      190,
    );
  });

  it('records a fault that fails to start, and goes on with the others', async () => {
    const f = fakes({ 'kill coordinator-1': { fail: true } });
    const history = await run(
      [
        { at: 0, durationMs: 100, spec: kill('coordinator-1') },
        { at: 20, durationMs: 100, spec: kill('coordinator-2') },
      ],
      f,
    );
    const failed = history.find((e) => e.phase === 'end' && e.target === 'coordinator-1');
    expect(failed?.detail).toMatchObject({ tookEffect: false, error: 'kill coordinator-1 refused' });
    expect(history.filter((e) => e.target === 'coordinator-2').map((e) => e.phase)).toEqual(['start', 'end']);
  });

  it('on abort, ends every fault already started at once and starts no other', async () => {
    const f = fakes({ 'pause coordinator-3': { start: 150 } });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const t0 = performance.now();
    const history = await run(
      [
        { at: 0, durationMs: 10_000, spec: kill('coordinator-1') },
        { at: 20, durationMs: 10_000, spec: kill('coordinator-2') },
        // Still starting when the abort comes: ended as soon as it has started.
        { at: 40, durationMs: 10_000, spec: pause('coordinator-3') },
        { at: 5_000, durationMs: 100, spec: kill('coordinator-3') },
      ],
      f,
      abort.signal,
    );
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(history.filter((e) => e.phase === 'start').map((e) => e.fault + ' ' + e.target)).toEqual([
      'kill coordinator-1',
      'kill coordinator-2',
      'pause coordinator-3',
    ]);
    expect(history.filter((e) => e.phase === 'end')).toHaveLength(3);
    expect(f.steps.some((s) => s.label === 'kill coordinator-3')).toBe(false);
  });

  it('runs an empty plan', async () => {
    expect(await run([], fakes())).toEqual([]);
  });

  it('hands its progress sink to the faults in their context, for their own long waits', async () => {
    const lines: string[] = [];
    const impl: FaultImplementation = {
      label: (spec) => spec.kind,
      async start(spec, faultCtx) {
        faultCtx.progress?.(`${spec.kind}: said by the fault`);
        return { end: async () => ({ tookEffect: true, detail: {} }) };
      },
    };
    const plan = [{ at: 0, durationMs: 10, spec: kill('coordinator-1') }];
    await runNemesis(plan, ctx, new HistoryRecorder(), {
      t0: performance.now(),
      progress: (l) => lines.push(l),
      implementationOf: () => impl,
    });
    expect(lines).toEqual(['lab: nemesis: kill for 10 ms', 'kill: said by the fault']);
  });
});
