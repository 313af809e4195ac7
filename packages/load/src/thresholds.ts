/**
 * k6 thresholds: `{ metric: ["<aggregation> <op> <number>", ...] }`, each expression a pass/fail
 * criterion over the whole run. Aggregations per metric type, as in k6: counter `count`, `rate`
 * (per second); gauge `value`; rate `rate` (fraction of non-zero samples); trend `avg`, `min`, `med`,
 * `max`, `p(N)` (milliseconds for time trends). A key may name a sub-metric by tags,
 * `http_req_duration{name:upload}`, over the tags the driver records (method, name, status).
 * A metric without samples (a trend or rate that saw none) passes, as in k6; the result says so.
 */
import { BUILTIN_METRICS, isBuiltinMetric, percentile, type MetricSamples, type MetricType } from './metrics.js';
import { LoadError } from './errors.js';

export type ThresholdOperator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface ParsedThreshold {
  /** The key as written, e.g. `http_req_duration{name:upload}`. */
  readonly key: string;
  readonly metric: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly expression: string;
  /** `avg`, `min`, `med`, `max`, `count`, `rate`, `value` or `p(N)`. */
  readonly aggregation: string;
  readonly operator: ThresholdOperator;
  readonly target: number;
}

export class ThresholdSyntaxError extends LoadError {
  constructor(
    readonly metric: string,
    readonly expression: string,
    readonly reason: string,
  ) {
    super(`threshold ${metric}: ${JSON.stringify(expression)}: ${reason}`);
  }
}

const KEY = /^([A-Za-z_][A-Za-z0-9_]*)(?:\{([^{}]*)\})?$/;
const EXPRESSION =
  /^\s*(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/;
const TAGGED_METRICS = new Set<string>(['http_reqs', 'http_req_duration', 'http_req_failed']);
const TAG_KEYS = new Set(['method', 'name', 'status']);

const AGGREGATIONS: Record<MetricType, readonly string[]> = {
  counter: ['count', 'rate'],
  gauge: ['value'],
  rate: ['rate'],
  trend: ['avg', 'min', 'max', 'med', 'p(N)'],
};

function parseKey(key: string, expression: string): { metric: string; tags: Record<string, string> } {
  const match = KEY.exec(key);
  if (!match) throw new ThresholdSyntaxError(key, expression, 'not a metric name (optionally with {tag:value,...})');
  const metric = match[1]!;
  if (!isBuiltinMetric(metric)) {
    throw new ThresholdSyntaxError(
      key,
      expression,
      `unknown metric; known: ${Object.keys(BUILTIN_METRICS).join(', ')}`,
    );
  }
  const tags: Record<string, string> = {};
  if (match[2] !== undefined) {
    if (!TAGGED_METRICS.has(metric)) {
      throw new ThresholdSyntaxError(key, expression, `${metric} carries no tags to select a sub-metric by`);
    }
    for (const part of match[2].split(',')) {
      const [tag, value, extra] = part.split(':').map((s) => s.trim());
      if (!tag || value === undefined || value === '' || extra !== undefined || !TAG_KEYS.has(tag)) {
        throw new ThresholdSyntaxError(
          key,
          expression,
          `sub-metric selector ${JSON.stringify(part)} must be tag:value with tag one of ${[...TAG_KEYS].join(', ')}`,
        );
      }
      tags[tag] = value;
    }
  }
  return { metric, tags };
}

/** Parses one expression of one threshold key; throws ThresholdSyntaxError naming both. */
export function parseThreshold(key: string, expression: string): ParsedThreshold {
  const { metric, tags } = parseKey(key, expression);
  const match = EXPRESSION.exec(expression);
  if (!match) {
    throw new ThresholdSyntaxError(
      key,
      expression,
      'expected "<aggregation> <op> <number>" with aggregation avg|min|max|med|count|rate|value|p(N) and op < <= > >= == !=',
    );
  }
  const type = BUILTIN_METRICS[metric as keyof typeof BUILTIN_METRICS];
  const percentileText = match[2];
  const aggregation = percentileText !== undefined ? `p(${Number(percentileText)})` : match[1]!;
  const allowed = AGGREGATIONS[type];
  const kind = percentileText !== undefined ? 'p(N)' : aggregation;
  if (!allowed.includes(kind)) {
    throw new ThresholdSyntaxError(
      key,
      expression,
      `${aggregation} does not apply to a ${type}; use ${allowed.join(', ')}`,
    );
  }
  if (percentileText !== undefined && Number(percentileText) > 100) {
    throw new ThresholdSyntaxError(key, expression, 'a percentile is between 0 and 100');
  }
  return {
    key,
    metric,
    tags,
    expression,
    aggregation,
    operator: match[3] as ThresholdOperator,
    target: Number(match[4]),
  };
}

export function parseThresholds(thresholds: Readonly<Record<string, readonly string[]>>): ParsedThreshold[] {
  return Object.entries(thresholds).flatMap(([key, expressions]) => expressions.map((e) => parseThreshold(key, e)));
}

export interface ThresholdResult {
  readonly key: string;
  readonly expression: string;
  readonly ok: boolean;
  /** The aggregated value compared with the target; undefined when the metric had no samples. */
  readonly actual: number | undefined;
}

export interface ThresholdReport {
  /** Every threshold passed. */
  readonly ok: boolean;
  readonly results: readonly ThresholdResult[];
}

/**
 * Where the evaluator gets a metric's samples: a record of whole metrics by name, or a function that
 * also answers for tag selections (what the driver passes).
 */
export type MetricSource =
  | Readonly<Record<string, MetricSamples>>
  | ((metric: string, tags: Readonly<Record<string, string>>) => MetricSamples | undefined);

function aggregate(samples: MetricSamples, aggregation: string): number | undefined {
  switch (samples.type) {
    case 'counter':
      return aggregation === 'count'
        ? samples.count
        : samples.durationMs > 0
          ? samples.count / (samples.durationMs / 1000)
          : 0;
    case 'gauge':
      return samples.value;
    case 'rate':
      return samples.total === 0 ? undefined : samples.trues / samples.total;
    case 'trend': {
      const s = samples.sorted;
      if (s.length === 0) return undefined;
      if (aggregation === 'avg') return samples.sum / s.length;
      if (aggregation === 'min') return s[0]!;
      if (aggregation === 'max') return s[s.length - 1]!;
      if (aggregation === 'med') return percentile(s, 0.5);
      return percentile(s, Number(aggregation.slice(2, -1)) / 100);
    }
  }
}

function compare(actual: number, operator: ThresholdOperator, target: number): boolean {
  switch (operator) {
    case '<':
      return actual < target;
    case '<=':
      return actual <= target;
    case '>':
      return actual > target;
    case '>=':
      return actual >= target;
    case '==':
      return actual === target;
    case '!=':
      return actual !== target;
  }
}

/** Evaluates every threshold (parsing it first: a bad expression throws ThresholdSyntaxError). */
export function evaluateThresholds(
  thresholds: Readonly<Record<string, readonly string[]>> | readonly ParsedThreshold[],
  source: MetricSource,
): ThresholdReport {
  const parsed = Array.isArray(thresholds)
    ? (thresholds as readonly ParsedThreshold[])
    : parseThresholds(thresholds as Readonly<Record<string, readonly string[]>>);
  const lookup =
    typeof source === 'function'
      ? source
      : (metric: string, tags: Readonly<Record<string, string>>) =>
          Object.keys(tags).length === 0 ? source[metric] : undefined;
  const results = parsed.map((t): ThresholdResult => {
    const samples = lookup(t.metric, t.tags);
    const actual = samples === undefined ? undefined : aggregate(samples, t.aggregation);
    return {
      key: t.key,
      expression: t.expression,
      actual,
      ok: actual === undefined ? true : compare(actual, t.operator, t.target),
    };
  });
  return { ok: results.every((r) => r.ok), results };
}
