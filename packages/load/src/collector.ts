/**
 * The driver's metric store: every built-in metric, the HTTP ones per tag set (method, name, status)
 * as k6 keeps a time series per tag set.
 */
import {
  BUILTIN_METRICS,
  TrendBuffer,
  summarize,
  type BuiltinMetric,
  type MetricSamples,
  type MetricSummary,
} from './metrics.js';

export interface HttpTags {
  readonly method: string;
  readonly name: string;
  readonly status: string;
}

export interface HttpSeries {
  readonly tags: HttpTags;
  requests: number;
  failed: number;
  readonly duration: TrendBuffer;
}

/** k6's default expected statuses: 200–399; anything else, or no response (status 0), failed. */
export function isFailedStatus(status: number): boolean {
  return status < 200 || status >= 400;
}

export class Collector {
  readonly http = new Map<string, HttpSeries>();
  readonly iterationDuration = new TrendBuffer();
  iterations = 0;
  dropped = 0;
  dataSent = 0;
  dataReceived = 0;
  private vusNow = 0;
  private vusMin = Infinity;
  private vusMaxSeen = 0;
  private vusMaxNow = 0;
  private vusMaxMin = Infinity;
  private vusMaxMax = 0;

  addHttp(tags: HttpTags, status: number, durationMs: number): void {
    const key = `${tags.method}\u0000${tags.name}\u0000${tags.status}`;
    let series = this.http.get(key);
    if (series === undefined) {
      series = { tags, requests: 0, failed: 0, duration: new TrendBuffer() };
      this.http.set(key, series);
    }
    series.requests++;
    if (isFailedStatus(status)) series.failed++;
    series.duration.add(durationMs);
  }

  setVus(vus: number, vusMax: number): void {
    this.vusNow = vus;
    this.vusMin = Math.min(this.vusMin, vus);
    this.vusMaxSeen = Math.max(this.vusMaxSeen, vus);
    this.vusMaxNow = vusMax;
    this.vusMaxMin = Math.min(this.vusMaxMin, vusMax);
    this.vusMaxMax = Math.max(this.vusMaxMax, vusMax);
  }

  get vus(): number {
    return this.vusNow;
  }

  get vusMax(): number {
    return this.vusMaxNow;
  }

  private matching(tags: Readonly<Record<string, string>>): HttpSeries[] {
    const wanted = Object.entries(tags);
    return [...this.http.values()].filter((s) => wanted.every(([k, v]) => s.tags[k as keyof HttpTags] === v));
  }

  /** One metric's samples, optionally only the HTTP series whose tags match `tags`. */
  samples(metric: string, tags: Readonly<Record<string, string>>, elapsedMs: number): MetricSamples | undefined {
    const series = this.matching(tags);
    switch (metric as BuiltinMetric) {
      case 'http_reqs':
        return { type: 'counter', count: series.reduce((n, s) => n + s.requests, 0), durationMs: elapsedMs };
      case 'http_req_failed':
        return {
          type: 'rate',
          trues: series.reduce((n, s) => n + s.failed, 0),
          total: series.reduce((n, s) => n + s.requests, 0),
        };
      case 'http_req_duration':
        return TrendBuffer.merge(series.map((s) => s.duration));
      case 'iterations':
        return { type: 'counter', count: this.iterations, durationMs: elapsedMs };
      case 'iteration_duration':
        return this.iterationDuration.samples();
      case 'dropped_iterations':
        return { type: 'counter', count: this.dropped, durationMs: elapsedMs };
      case 'data_sent':
        return { type: 'counter', count: this.dataSent, durationMs: elapsedMs };
      case 'data_received':
        return { type: 'counter', count: this.dataReceived, durationMs: elapsedMs };
      case 'vus':
        return { type: 'gauge', value: this.vusNow, min: finite(this.vusMin), max: this.vusMaxSeen };
      case 'vus_max':
        return { type: 'gauge', value: this.vusMaxNow, min: finite(this.vusMaxMin), max: this.vusMaxMax };
      default:
        return undefined;
    }
  }

  /** Every built-in metric's aggregates over the run so far. */
  summary(elapsedMs: number): Record<BuiltinMetric, MetricSummary> {
    const out = {} as Record<BuiltinMetric, MetricSummary>;
    for (const name of Object.keys(BUILTIN_METRICS) as BuiltinMetric[]) {
      out[name] = summarize(this.samples(name, {}, elapsedMs)!);
    }
    return out;
  }
}

function finite(n: number): number {
  return Number.isFinite(n) ? n : 0;
}
