/**
 * The run report of a chaos seed or a load run: the lab gathers what the page
 * shows — fault windows, instance lives and input/output rates from the
 * history (the timeline), throughput / latency / errors as Prometheus range
 * queries over the run's window, the verdicts and when each violation
 * happened, the replay command, the logs — and `@chaos-lab/report` renders it.
 *
 * The queries are asked of the environment's Prometheus before the
 * environment stops (a session that closes after a failing seed takes its
 * Prometheus with it), so a caller collects the charts first and writes the
 * page when everything else is on disk.
 */
import { relative } from 'node:path';
import { readdir } from 'node:fs/promises';
import { writeReport, type Chart, type Fault, type ReportInput } from '@chaos-lab/report';
import type { StartedPrometheus } from '../environment/local/prometheus-server.js';
import {
  RATE_BIN_MS,
  firstViolation,
  historyRates,
  instanceLives,
  type FinalState,
  type HistoryEntry,
  type Verdict,
} from '@chaos-lab/model';
import type { OnlineFinding } from '../scenario/online-monitor.js';

/** One chart: a PromQL query, how to name each returned series, and a scale into the chart's unit. */
export interface ChartQuery {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly queries: readonly { readonly expr: string; readonly name: (labels: Record<string, string>) => string }[];
  /** Multiplies every value (e.g. 1000 for seconds → ms). Default 1. */
  readonly scale?: number;
}

/**
 * An error counter has no series until its first error: "0 while the coordinators were being scraped" is the
 * truth then, and a flat zero line says it better than an empty chart.
 */
const zeroWhileScraped = `0 * sum(up{job="coordinator"})`;

const byLabel =
  (label: string, fallback = 'all') =>
  (m: Record<string, string>) =>
    m[label] ?? fallback;

/** The window of every rate: a few scrapes at the lab's 1 s interval. */
const W = '5s';

/** Input events the coordinators handled per second, one line per instance. */
export const COORDINATOR_THROUGHPUT: ChartQuery = {
  id: 'throughput',
  title: 'Input events handled per second, by instance',
  unit: 'ops/s',
  queries: [
    {
      expr: `sum by (instance_id) (rate(coordinator_events_consumed_total{job="coordinator"}[${W}]))`,
      name: byLabel('instance_id'),
    },
  ],
};

/** The coordinators' assignment latency histogram, p50 and p99. */
export const ASSIGNMENT_LATENCY: ChartQuery = {
  id: 'latency',
  title: 'Assignment latency (time to settle one content event)',
  unit: 'ms',
  scale: 1000,
  queries: [0.5, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le) (rate(coordinator_assignment_duration_seconds_bucket{job="coordinator"}[${W}])))`,
    name: () => `p${q * 100}`,
  })),
};

/** How far behind its partitions each coordinator is. */
export const CONSUMER_LAG: ChartQuery = {
  id: 'lag',
  title: 'Consumer lag (messages behind), by instance',
  unit: '',
  queries: [
    { expr: `sum by (instance_id) (coordinator_consumer_lag{job="coordinator"})`, name: byLabel('instance_id') },
  ],
};

/** What a chaos seed's page plots under its fault timeline. */
export const CHAOS_CHARTS: readonly ChartQuery[] = [
  COORDINATOR_THROUGHPUT,
  {
    id: 'outputs',
    title: 'Outbox events published per second',
    unit: 'ops/s',
    queries: [
      {
        expr: `sum by (topic) (rate(coordinator_outbox_published_total{job="coordinator"}[${W}]))`,
        name: (m) => (m.topic ?? 'all').replace(/^lab\./, ''),
      },
    ],
  },
  ASSIGNMENT_LATENCY,
  {
    id: 'errors',
    title: 'Errors per second: dependency calls, Kafka client, consumer restarts',
    unit: 'ops/s',
    queries: [
      {
        expr: `sum by (dependency) (rate(coordinator_dependency_errors_total{job="coordinator"}[${W}])) or on() ${zeroWhileScraped}`,
        name: (m) => (m.dependency ? `${m.dependency} calls` : 'failed calls'),
      },
      {
        expr: `sum(rate(coordinator_kafka_client_errors_total{job="coordinator"}[${W}])) or on() ${zeroWhileScraped}`,
        name: () => 'kafka client',
      },
      {
        expr: `sum(rate(coordinator_consumer_restarts_total{job="coordinator"}[${W}])) or on() ${zeroWhileScraped}`,
        name: () => 'consumer restarts',
      },
    ],
  },
  CONSUMER_LAG,
];

/**
 * Runs each chart's queries over `[startMs, endMs]`. A query that fails is
 * not fatal to the run: its chart gets no series and a note saying why, and
 * the page shows "no data" for it rather than hiding it.
 */
export async function collectCharts(
  prometheus: StartedPrometheus | undefined,
  charts: readonly ChartQuery[],
  startMs: number,
  endMs: number,
): Promise<Chart[]> {
  const stepMs = Math.max(1000, Math.ceil((endMs - startMs) / 400 / 1000) * 1000);
  return Promise.all(
    charts.map(async (c): Promise<Chart> => {
      const scale = c.scale ?? 1;
      if (!prometheus)
        return { id: c.id, title: c.title, unit: c.unit, series: [], note: 'no Prometheus in this environment' };
      const notes: string[] = [];
      const series: Chart['series'] = [];
      for (const q of c.queries) {
        try {
          for (const s of await prometheus.queryRange(q.expr, startMs, endMs, stepMs)) {
            series.push({
              name: q.name(s.metric),
              points: s.values.map(([t, v]) => {
                const n = Number(v);
                return [Math.round(t * 1000), Number.isFinite(n) ? n * scale : null];
              }),
            });
          }
        } catch (err) {
          notes.push(`query failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return {
        id: c.id,
        title: c.title,
        unit: c.unit,
        series,
        note: [...c.queries.map((q) => q.expr), ...notes].join('\n'),
      };
    }),
  );
}

/** Fault windows from the nemesis entries of a history whose times count from `epochStartMs`. */
export function faultsFromHistory(history: readonly HistoryEntry[], epochStartMs: number): Fault[] {
  const faults: Fault[] = [];
  const open = new Map<string, Fault[]>();
  for (const e of history) {
    if (e.type !== 'nemesis') continue;
    const label = typeof e.detail?.label === 'string' ? e.detail.label : e.fault;
    const key = `${e.fault}\u0000${e.target ?? ''}\u0000${label}`;
    if (e.phase === 'start') {
      const f: Fault = {
        label,
        kind: e.fault,
        ...(e.target !== undefined && { target: e.target }),
        start: Math.round(epochStartMs + e.time),
      };
      faults.push(f);
      open.set(key, [...(open.get(key) ?? []), f]);
    } else {
      const f = open.get(key)?.shift();
      if (!f) continue;
      f.end = Math.max(f.start, Math.round(epochStartMs + e.time));
      const took = e.detail?.tookEffect;
      const error = e.detail?.error;
      f.effect =
        typeof error === 'string'
          ? `did not take effect: ${error}`
          : took === false
            ? 'showed no effect'
            : took === true
              ? 'took effect'
              : undefined;
      if (f.effect === undefined) delete f.effect;
    }
  }
  return faults;
}

/** The most bins a rate line gets: a run longer than 2 min gets wider bins than {@link RATE_BIN_MS}. */
export const MAX_RATE_BINS = 1200;

/**
 * The timeline's rates and instance lives, from a history whose times count from `epochStartMs`, over the
 * report's window `[startedAt, endedAt]` (epoch ms). Bins are {@link RATE_BIN_MS} wide, wider (a multiple)
 * only past {@link MAX_RATE_BINS}.
 */
export function timelineFromHistory(
  history: readonly HistoryEntry[],
  epochStartMs: number,
  window: { readonly startedAt: number; readonly endedAt: number },
): NonNullable<ReportInput['timeline']> {
  const from = window.startedAt - epochStartMs;
  const to = Math.max(from, window.endedAt - epochStartMs);
  const binMs = Math.max(RATE_BIN_MS, Math.ceil((to - from) / MAX_RATE_BINS / RATE_BIN_MS) * RATE_BIN_MS);
  const lives = instanceLives(history);
  return {
    binMs,
    rates: historyRates(history, { from, to, binMs }).map((r) => ({ name: r.name, group: r.group, counts: r.counts })),
    instances: lives.map((life) => ({
      id: life.instance,
      events: life.events.map((e) => {
        const note = [e.pid === undefined ? undefined : `pid ${e.pid}`, e.note].filter(Boolean).join(', ');
        return {
          time: Math.max(0, Math.round(epochStartMs + e.time)),
          kind: e.event,
          ...(note !== '' && { note }),
        };
      }),
    })),
    note:
      `Rates: the history's publishes (invoke = published, ok = acknowledged) and observed outputs, per ${binMs} ms bin.` +
      (lives.some((l) => l.source === 'nemesis-entries')
        ? ' Instance events: inferred from the process faults (a history recorded before instance entries existed).'
        : ' Instance events: as the lab recorded them; a group join at the time the instance reports it.'),
  };
}

/**
 * When a failing verdict's violation happened (epoch ms) and how that is known: the earliest of its
 * counterexamples the history places ({@link firstViolation}: the entry a counterexample names, or its rows'
 * Postgres settlement before the final read) and of what the online monitor saw for the same checker.
 * Undefined when nothing places it: it was judged from the final read, at the end of the run.
 */
export function violatedAt(
  v: Verdict,
  o: {
    readonly epochStartMs: number;
    readonly final?: Pick<FinalState, 'readAtMs'>;
    readonly online?: readonly Omit<OnlineFinding, 'error'>[];
  },
): { time: number; how: string } | undefined {
  if (v.valid !== false) return undefined;
  const candidates: { time: number; how: string }[] = [];
  const first = firstViolation(v, o.final);
  if (first !== undefined) {
    const which = `counterexample ${first.index + 1} of ${v.errorCount}`;
    candidates.push({
      time: first.time,
      how:
        first.how === 'counterexample'
          ? `${which}: the history entry it names`
          : `${which}: when Postgres settled the rows it names (counted back from the final read)`,
    });
  }
  const seen = o.online?.find((f) => f.checker === v.checker);
  if (seen !== undefined)
    candidates.push(
      seen.effectFrom === 'previous-snapshot'
        ? { time: seen.detectedMs, how: 'when the online monitor saw it (after its previous Postgres snapshot)' }
        : {
            time: seen.effectMs,
            how:
              seen.effectFrom === 'history'
                ? 'seen online: the history entry that made it'
                : "seen online: its rows' settlement in a Postgres snapshot",
          },
    );
  const earliest = candidates.sort((a, b) => a.time - b.time)[0];
  return earliest && { time: Math.max(0, Math.round(o.epochStartMs + earliest.time)), how: earliest.how };
}

/**
 * The report's verdict rows from the checkers' verdicts (first counterexamples only), each failing one placed
 * in time when `placing` says how ({@link violatedAt}).
 */
export function verdictRows(
  verdicts: readonly Verdict[],
  placing?: Parameters<typeof violatedAt>[1],
): ReportInput['verdicts'] {
  return verdicts.map((v) => ({
    checker: v.checker,
    valid: v.valid,
    summary:
      v.valid === true
        ? `${Object.entries(v.stats ?? {})
            .slice(0, 4)
            .map(([k, x]) => `${k} ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
            .join(', ')}`
        : `${v.errorCount} error(s)`,
    counterexamples: (v.errors ?? []).slice(0, 5) as unknown[],
    ...withViolatedAt(v, placing),
  }));
}

function withViolatedAt(
  v: Verdict,
  placing: Parameters<typeof violatedAt>[1] | undefined,
): { violatedAt?: { time: number; how: string } } {
  const at = placing && violatedAt(v, placing);
  return at ? { violatedAt: at } : {};
}

/** Links to every file under `dir/logs` (relative to `dir`, where the page is written). */
export async function logLinks(dir: string, logsDir: string): Promise<ReportInput['logs']> {
  const names = await readdir(logsDir).catch(() => [] as string[]);
  return names.sort().map((name) => ({ name, href: relative(dir, `${logsDir}/${name}`) }));
}

/** Writes `dir/report.html` and returns its path. */
export async function writeRunReport(dir: string, input: ReportInput): Promise<string> {
  return writeReport(dir, input);
}
