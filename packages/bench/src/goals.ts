/**
 * The arithmetic of the bench, kept pure so it can be checked on numbers
 * picked by hand: converting each dependency's raw rate into assignments per
 * second, the slowest dependency, the ratio of our throughput to it, the
 * goals with the margin by which each is met or missed, percentiles and
 * rates over observed times.
 */
import { InvalidArgumentError } from '@chaos-lab/lab';

export type Dependency = 'redis' | 'postgres' | 'kafka';

/**
 * How many operations of a dependency one assignment costs, for batches of
 * `essaysPerBatch`: Redis one assign script call; Postgres one write
 * transaction (the pgbench script already includes the batch-closing work on
 * every `essaysPerBatch`-th call); Kafka the content event in and the
 * slot-assigned event out, plus the registration in and the batch-ready out
 * shared by the batch's essays.
 */
export function opsPerAssignment(dep: Dependency, essaysPerBatch: number): number {
  if (!(essaysPerBatch >= 1)) throw new InvalidArgumentError('essaysPerBatch', essaysPerBatch, 'a number ≥ 1');
  switch (dep) {
    case 'redis':
    case 'postgres':
      return 1;
    case 'kafka':
      return 2 + 2 / essaysPerBatch;
  }
}

export interface RawRate {
  readonly dependency: Dependency;
  /** What was measured, e.g. "redis-benchmark EVALSHA assign, -c 50, no pipeline". */
  readonly label: string;
  readonly rate: number;
  /** Unit of `rate`: req/s, tx/s, msg/s. */
  readonly unit: string;
}

export interface ConvertedRate extends RawRate {
  readonly opsPerAssignment: number;
  readonly assignmentsPerSecond: number;
}

export function convert(r: RawRate, essaysPerBatch: number): ConvertedRate {
  const ops = opsPerAssignment(r.dependency, essaysPerBatch);
  return { ...r, opsPerAssignment: ops, assignmentsPerSecond: r.rate / ops };
}

/** The rate that bounds the pipeline: the lowest in assignments per second. */
export function slowest(rates: readonly ConvertedRate[]): ConvertedRate {
  const first = rates[0];
  if (!first) throw new InvalidArgumentError('rates', rates, 'at least one measured rate');
  return rates.reduce((a, b) => (b.assignmentsPerSecond < a.assignmentsPerSecond ? b : a), first);
}

export interface GoalVerdict {
  readonly met: boolean;
  /** Short text for the table, e.g. "✗ 23 % of 50 % (2.2× short)". */
  readonly text: string;
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;

/**
 * A goal on one figure: `value op bound`, e.g. a ratio ≥ 1.0 or a p99 ≤ 250 ms. The text gives the figure, the
 * bound and, when missed, by what factor (short of a lower bound, over an upper one). A figure that could not
 * be measured (NaN) misses its goal and says so.
 */
export function boundGoal(value: number, op: '≥' | '≤', bound: number, show: (x: number) => string): GoalVerdict {
  if (!(bound > 0)) throw new InvalidArgumentError('bound', bound, 'a positive number');
  if (!Number.isFinite(value)) return { met: false, text: `✗ not measured (goal ${op} ${show(bound)})` };
  if (op === '≥')
    return value >= bound
      ? { met: true, text: `✓ ${show(value)} ≥ ${show(bound)}` }
      : {
          met: false,
          text: `✗ ${show(value)} < ${show(bound)}: ${value > 0 ? `${factor(bound / value)} short` : 'none'}`,
        };
  return value <= bound
    ? { met: true, text: `✓ ${show(value)} ≤ ${show(bound)}` }
    : { met: false, text: `✗ ${show(value)} > ${show(bound)}: ${factor(value / bound)} over` };
}

/** Several figures held to one upper bound (a p99 per instance count): met when each is; the worst one named. */
export function eachAtMost(values: readonly number[], bound: number, show: (x: number) => string): GoalVerdict {
  if (values.length === 0) return { met: false, text: `✗ not measured (goal ≤ ${show(bound)})` };
  const worst = values.reduce((a, b) => (!Number.isFinite(b) || b > a ? b : a), values[0]!);
  const g = boundGoal(worst, '≤', bound, show);
  return g.met ? { met: true, text: `✓ each ≤ ${show(bound)}` } : { met: false, text: `${g.text} (the worst)` };
}

/** Flatness: the largest of `values` is at most `maxRatio` times the smallest. */
export function flatnessGoal(values: readonly number[], maxRatio = 1.25): GoalVerdict & { readonly ratio: number } {
  if (values.length < 2 || values.some((v) => !(v > 0)))
    throw new InvalidArgumentError('values', values, 'at least two positive numbers');
  const ratio = Math.max(...values) / Math.min(...values);
  const r = ratio.toFixed(2);
  return ratio <= maxRatio
    ? { met: true, ratio, text: `✓ max/min ${r} ≤ ${maxRatio}` }
    : { met: false, ratio, text: `✗ max/min ${r} > ${maxRatio}: ${pct(ratio / maxRatio - 1)} over` };
}

/** A factor with the precision that keeps it from reading 1.0× when it is not. */
function factor(x: number): string {
  return `${x < 1.1 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x)}×`;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** Nearest-rank percentile (`q` in 0..1) of unsorted samples. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new InvalidArgumentError('samples', samples, 'at least one sample');
  if (!(q >= 0 && q <= 1)) throw new InvalidArgumentError('q', q, 'a number from 0 to 1');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * Events per second between the first and the last of `timesMs`: n events
 * span n − 1 intervals, so a burst counted from its first event is not
 * flattered by one.
 */
export function ratePerSecond(timesMs: readonly number[]): number {
  if (timesMs.length < 2) throw new InvalidArgumentError('timesMs', timesMs.length, 'at least two times');
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of timesMs) {
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  if (hi === lo) throw new InvalidArgumentError('timesMs', `all ${timesMs.length} at ${lo}`, 'times that differ');
  return ((timesMs.length - 1) * 1000) / (hi - lo);
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new InvalidArgumentError('xs', xs, 'at least one number');
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 0.5);
}
