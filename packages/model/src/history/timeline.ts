/**
 * A run's history as a timeline: how many inputs went in and outputs came out per time bin, and what happened
 * to each instance when. The report draws both over the fault windows; they come from the history alone (not
 * from Prometheus, which scrapes every second and rates over seconds), so a five-second seed still has dense
 * lines: 50 bins of 100 ms.
 */
import { EventType } from '@chaos-lab/contracts';
import { InvalidArgumentError } from '@chaos-lab/errors';
import type { HistoryEntry, InstanceEvent } from './history.js';

/** The bin width of the timeline's rates. */
export const RATE_BIN_MS = 100;

/**
 * How many of `times` fall in each bin of `binMs` from `from` to `to`: bin `i` holds `[from + i·binMs,
 * from + (i+1)·binMs)`, the last bin also holds `to` itself, and times outside `[from, to]` are not counted.
 * There are `ceil((to − from) / binMs)` bins, at least one.
 */
export function binCounts(times: Iterable<number>, from: number, to: number, binMs: number): number[] {
  if (!(binMs > 0) || !Number.isFinite(binMs)) throw new InvalidArgumentError('binMs', binMs, 'a positive number');
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from)
    throw new InvalidArgumentError('to', to, `a finite time at or after from (${from})`);
  const n = Math.max(1, Math.ceil((to - from) / binMs));
  const counts = new Array<number>(n).fill(0);
  for (const t of times) {
    if (!(t >= from && t <= to)) continue;
    const i = Math.min(n - 1, Math.floor((t - from) / binMs));
    counts[i]!++;
  }
  return counts;
}

export interface RateSeries {
  /** `published`, `acknowledged`, `slot assigned`… */
  readonly name: string;
  /** Inputs (publishes and their acknowledgements) or outputs (messages observed on the output topics). */
  readonly group: 'inputs' | 'outputs';
  /** Entries per bin (see {@link binCounts}); a rate per second is `count · 1000 / binMs`. */
  readonly counts: number[];
  /** All the entries the series counts in the window. */
  readonly total: number;
}

/** Output series names by event type, in the order they are listed. */
const OUTPUT_NAMES: readonly [string, string][] = [
  [EventType.SlotAssigned, 'slot assigned'],
  [EventType.ExcessContent, 'excess'],
  [EventType.BatchReady, 'batch ready'],
  [EventType.BatchTimedOut, 'batch timed out'],
  [EventType.DeadLetter, 'dead letter'],
];

/**
 * Inputs and outputs per bin over `[from, to]` (history ms): `published` (publish invokes), `acknowledged`
 * (`ok` completions) and, when there are any, `not acknowledged` (`fail` and `info` completions); outputs by
 * event type (every delivery counts, redeliveries included: they are traffic too), and `not a contract event`
 * for outputs that did not parse. A series with no entry anywhere in the history is left out, except the first
 * two, so that an idle run still says "0".
 */
export function historyRates(
  history: readonly HistoryEntry[],
  o: { readonly from: number; readonly to: number; readonly binMs?: number },
): RateSeries[] {
  const binMs = o.binMs ?? RATE_BIN_MS;
  const times = new Map<string, number[]>();
  const at = (name: string, t: number) => {
    const xs = times.get(name);
    if (xs) xs.push(t);
    else times.set(name, [t]);
  };
  for (const e of history) {
    if (e.type === 'invoke') at('published', e.time);
    else if (e.type === 'ok') at('acknowledged', e.time);
    else if (e.type === 'fail' || e.type === 'info') at('not acknowledged', e.time);
    else if (e.type === 'observe') {
      const name = e.event ? OUTPUT_NAMES.find(([type]) => type === e.event!.event_type)?.[1] : undefined;
      at(name ?? 'not a contract event', e.time);
    }
  }
  const series = (name: string, group: RateSeries['group'], always = false): RateSeries[] => {
    const xs = times.get(name);
    if (!xs && !always) return [];
    const counts = binCounts(xs ?? [], o.from, o.to, binMs);
    return [{ name, group, counts, total: counts.reduce((a, b) => a + b, 0) }];
  };
  return [
    ...series('published', 'inputs', true),
    ...series('acknowledged', 'inputs', true),
    ...series('not acknowledged', 'inputs'),
    ...OUTPUT_NAMES.flatMap(([, name]) => series(name, 'outputs')),
    ...series('not a contract event', 'outputs'),
  ];
}

/** One event in an instance's life, as the timeline draws it. */
export interface LifecycleEvent {
  /** History ms: when it happened (an entry's `at` when it has one). */
  readonly time: number;
  readonly event: InstanceEvent;
  readonly pid?: number;
  /** A few words more: an exit's code or signal, a join's partitions, or where the event was inferred from. */
  readonly note?: string;
}

export interface InstanceLife {
  readonly instance: string;
  /** In time order. */
  readonly events: LifecycleEvent[];
  /** Whether the events come from the lab's `instance` entries or, for an older history, from its faults. */
  readonly source: 'instance-entries' | 'nemesis-entries';
}

/**
 * Each instance's life from the history's `instance` entries, instances in order of first appearance. A
 * history recorded before those entries existed has its process faults instead, and they say part of it:
 * a `kill` killed its target at its start and started it again by its end, a `pause` paused and resumed it,
 * a `restart` stopped it at its start and had it running again by its end, a `commit-boundary-crash` saw it
 * die (its end's `exit`) and started it clean. The times inferred so are the fault's, and each such event
 * says so in its note.
 */
export function instanceLives(history: readonly HistoryEntry[]): InstanceLife[] {
  const lives = new Map<string, LifecycleEvent[]>();
  const add = (instance: string, e: LifecycleEvent) => {
    const xs = lives.get(instance);
    if (xs) xs.push(e);
    else lives.set(instance, [e]);
  };
  const hasEntries = history.some((e) => e.type === 'instance');
  for (const e of history) {
    if (e.type === 'instance') {
      const note = noteOf(e.event, e.detail);
      add(e.instance, {
        time: e.at ?? e.time,
        event: e.event,
        ...(e.pid !== undefined && { pid: e.pid }),
        ...(note !== undefined && { note }),
      });
    } else if (!hasEntries && e.type === 'nemesis' && e.target !== undefined) {
      for (const x of fromFault(e.fault, e.phase, e.time, e.detail ?? {})) add(e.target, x);
    }
  }
  return [...lives].map(([instance, events]) => ({
    instance,
    events: events.sort((a, b) => a.time - b.time),
    source: hasEntries ? 'instance-entries' : 'nemesis-entries',
  }));
}

function noteOf(event: InstanceEvent, detail: Record<string, unknown> | undefined): string | undefined {
  if (!detail) return undefined;
  if (event === 'exited') {
    const { code, signal } = detail;
    if (typeof signal === 'string') return `signal ${signal}`;
    if (typeof code === 'number') return `code ${code}`;
    return undefined;
  }
  if (event === 'joined' && typeof detail.partitions === 'number') return `${detail.partitions} partitions`;
  if (typeof detail.why === 'string') return detail.why;
  return undefined;
}

const pidOf = (v: unknown): { pid?: number } => (typeof v === 'number' ? { pid: v } : {});

/** What a process fault's nemesis entry says of its target's life (older histories only). */
function fromFault(fault: string, phase: 'start' | 'end', time: number, d: Record<string, unknown>): LifecycleEvent[] {
  const by = `from the ${fault} fault's ${phase}`;
  if (fault === 'kill')
    return phase === 'start'
      ? [{ time, event: 'killed', note: by }]
      : [{ time, event: 'started', ...pidOf(d.restartedPid), note: `${by} (started again by then)` }];
  if (fault === 'pause') return [{ time, event: phase === 'start' ? 'paused' : 'resumed', ...pidOf(d.pid), note: by }];
  if (fault === 'restart')
    return phase === 'start'
      ? [{ time, event: 'stopping', note: by }]
      : [{ time, event: 'started', ...pidOf(d.newPid), note: `${by} (running again by then)` }];
  if (fault === 'commit-boundary-crash' && phase === 'end') {
    const exit = d.exit as { signal?: unknown } | undefined;
    return typeof exit?.signal === 'string'
      ? [{ time, event: 'exited', note: `signal ${exit.signal}, ${by} (died by then)` }]
      : [];
  }
  return [];
}
