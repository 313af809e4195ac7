/**
 * k6's four metric types and the built-in metrics the embedded driver records, with k6's names and
 * semantics: a counter sums, a gauge keeps its last value (and min/max), a rate is the fraction of
 * non-zero samples, a trend keeps every sample for avg/min/med/max/p(N). Time values are milliseconds,
 * data values bytes, as in k6.
 */

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

export const BUILTIN_METRICS = {
  http_reqs: 'counter',
  http_req_duration: 'trend',
  http_req_failed: 'rate',
  iterations: 'counter',
  iteration_duration: 'trend',
  dropped_iterations: 'counter',
  vus: 'gauge',
  vus_max: 'gauge',
  data_sent: 'counter',
  data_received: 'counter',
} as const satisfies Record<string, MetricType>;

export type BuiltinMetric = keyof typeof BUILTIN_METRICS;

export function isBuiltinMetric(name: string): name is BuiltinMetric {
  return Object.hasOwn(BUILTIN_METRICS, name);
}

/** The raw material of one metric (or sub-metric) that thresholds and the summary aggregate. */
export type MetricSamples =
  | { readonly type: 'counter'; readonly count: number; readonly durationMs: number }
  | { readonly type: 'gauge'; readonly value: number; readonly min: number; readonly max: number }
  | { readonly type: 'rate'; readonly trues: number; readonly total: number }
  | { readonly type: 'trend'; readonly sorted: ArrayLike<number>; readonly sum: number };

export type TrendSamples = Extract<MetricSamples, { type: 'trend' }>;

/** k6's percentile: linear interpolation between the closest ranks; `fraction` in [0, 1]. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (n === 1) return sorted[0]!;
  const rank = fraction * (n - 1);
  const lower = Math.floor(rank);
  const upper = Math.min(lower + 1, n - 1);
  const low = sorted[lower]!;
  return low + (sorted[upper]! - low) * (rank - lower);
}

/** JSON-friendly aggregates, keyed as k6's end-of-test summary data keys them. */
export type MetricSummary =
  | { readonly type: 'counter'; readonly count: number; readonly rate: number }
  | { readonly type: 'gauge'; readonly value: number; readonly min: number; readonly max: number }
  | { readonly type: 'rate'; readonly rate: number; readonly passes: number; readonly fails: number }
  | {
      readonly type: 'trend';
      readonly count: number;
      readonly avg: number;
      readonly min: number;
      readonly med: number;
      readonly max: number;
      readonly 'p(90)': number;
      readonly 'p(95)': number;
      readonly 'p(99)': number;
    };

export function summarize(samples: MetricSamples): MetricSummary {
  switch (samples.type) {
    case 'counter':
      return {
        type: 'counter',
        count: samples.count,
        rate: samples.durationMs > 0 ? samples.count / (samples.durationMs / 1000) : 0,
      };
    case 'gauge':
      return { type: 'gauge', value: samples.value, min: samples.min, max: samples.max };
    case 'rate':
      return {
        type: 'rate',
        rate: samples.total > 0 ? samples.trues / samples.total : 0,
        passes: samples.trues,
        fails: samples.total - samples.trues,
      };
    case 'trend': {
      const s = samples.sorted;
      const n = s.length;
      return {
        type: 'trend',
        count: n,
        avg: n > 0 ? samples.sum / n : 0,
        min: n > 0 ? s[0]! : 0,
        med: percentile(s, 0.5),
        max: n > 0 ? s[n - 1]! : 0,
        'p(90)': percentile(s, 0.9),
        'p(95)': percentile(s, 0.95),
        'p(99)': percentile(s, 0.99),
      };
    }
  }
}

/** A growable store of trend samples; sorts lazily, when a statistic is asked for. */
export class TrendBuffer {
  private values = new Float64Array(256);
  private n = 0;
  private sortedUpTo = 0;
  private total = 0;

  add(value: number): void {
    if (this.n === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.n++] = value;
    this.total += value;
  }

  get count(): number {
    return this.n;
  }

  get sum(): number {
    return this.total;
  }

  /** The samples in ascending order (a view: valid until the next `add`). */
  sorted(): Float64Array {
    const view = this.values.subarray(0, this.n);
    if (this.sortedUpTo !== this.n) {
      view.sort();
      this.sortedUpTo = this.n;
    }
    return view;
  }

  samples(): TrendSamples {
    return { type: 'trend', sorted: this.sorted(), sum: this.total };
  }

  static merge(buffers: readonly TrendBuffer[]): TrendSamples {
    if (buffers.length === 1) return buffers[0]!.samples();
    let size = 0;
    let sum = 0;
    for (const b of buffers) {
      size += b.count;
      sum += b.sum;
    }
    const all = new Float64Array(size);
    let at = 0;
    for (const b of buffers) {
      all.set(b.values.subarray(0, b.count), at);
      at += b.count;
    }
    all.sort();
    return { type: 'trend', sorted: all, sum };
  }
}
