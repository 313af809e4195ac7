/**
 * Sends the driver's metrics to a Prometheus remote-write endpoint the way k6's
 * experimental-prometheus-rw output does with `K6_PROMETHEUS_RW_TREND_STATS=p(50),p(95),p(99),avg`:
 * counters as `k6_<name>_total`, gauges as `k6_<name>`, rates as `k6_<name>_rate`, each trend as one
 * gauge per stat (`k6_<name>_p50`, `_p95`, `_p99`, `_avg`) computed over every sample since the start
 * of the run and converted from milliseconds to seconds, as k6 converts time values. Every series
 * carries `testid`; the HTTP ones also carry `method`, `name` and `status`, one series per tag set.
 *
 * Unlike k6, counters are sent from the first push even while zero (k6 sends a series only after its
 * first sample), so `increase()` over `k6_dropped_iterations_total` has a starting point.
 *
 * Encoding and snappy compression come from `prometheus-remote-write` (protobufjs + snappyjs); this
 * module hands it Node's fetch with a timeout and labels already in the sorted order the remote-write
 * specification asks for.
 */
import { pushTimeseries } from 'prometheus-remote-write';
import type { Collector } from './collector.js';
import { percentile } from './metrics.js';
import { LoadError } from './errors.js';

export interface RemoteSeries {
  /** Includes `__name__`. */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const TREND_STATS = ['p50', 'p95', 'p99', 'avg'] as const;

function trendStats(sorted: Float64Array, sum: number): Record<(typeof TREND_STATS)[number], number> {
  const n = sorted.length;
  // k6's TrendSink answers 0 for an empty trend; milliseconds → seconds.
  return {
    p50: percentile(sorted, 0.5) / 1000,
    p95: percentile(sorted, 0.95) / 1000,
    p99: percentile(sorted, 0.99) / 1000,
    avg: n > 0 ? sum / n / 1000 : 0,
  };
}

function sortedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) out[key] = labels[key]!;
  return out;
}

/** The series k6 would send for the driver's metrics at this moment. */
export function k6Series(collector: Collector, testid: string): RemoteSeries[] {
  const series: RemoteSeries[] = [];
  const add = (name: string, value: number, labels: Record<string, string> = {}): void => {
    series.push({ labels: sortedLabels({ __name__: name, testid, ...labels }), value });
  };
  for (const s of collector.http.values()) {
    const tags = { method: s.tags.method, name: s.tags.name, status: s.tags.status };
    add('k6_http_reqs_total', s.requests, tags);
    add('k6_http_req_failed_rate', s.requests > 0 ? s.failed / s.requests : 0, tags);
    const stats = trendStats(s.duration.sorted(), s.duration.sum);
    for (const stat of TREND_STATS) add(`k6_http_req_duration_${stat}`, stats[stat], tags);
  }
  add('k6_iterations_total', collector.iterations);
  add('k6_dropped_iterations_total', collector.dropped);
  add('k6_vus', collector.vus);
  add('k6_vus_max', collector.vusMax);
  add('k6_data_sent_total', collector.dataSent);
  add('k6_data_received_total', collector.dataReceived);
  const iteration = trendStats(collector.iterationDuration.sorted(), collector.iterationDuration.sum);
  for (const stat of TREND_STATS) add(`k6_iteration_duration_${stat}`, iteration[stat]);
  return series;
}

export class RemoteWriteError extends LoadError {
  constructor(
    readonly url: string,
    readonly status: number,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`remote write to ${url} failed${status ? ` with ${status}` : ''}: ${detail}`, {
      retriable: true,
      cause: options?.cause,
    });
  }
}

/** Pushes one sample per series, all stamped `timestampMs`; rejects with RemoteWriteError. */
export async function pushSeries(
  url: string,
  series: readonly RemoteSeries[],
  timestampMs: number,
  timeoutMs = 5000,
): Promise<void> {
  let result;
  try {
    result = await pushTimeseries(
      series.map((s) => ({
        labels: s.labels as { __name__: string; [key: string]: string },
        samples: [{ value: s.value, timestamp: timestampMs }],
      })),
      {
        url,
        fetch: (target, init) =>
          fetch(target, {
            method: init?.method ?? 'POST',
            headers: init?.headers ?? {},
            body: init?.body as unknown as Uint8Array,
            signal: AbortSignal.timeout(timeoutMs),
          }),
      },
    );
  } catch (error) {
    throw new RemoteWriteError(url, 0, (error as Error).message, { cause: error });
  }
  if (result.status < 200 || result.status >= 300) {
    throw new RemoteWriteError(url, result.status, result.errorMessage ?? result.statusText);
  }
}
