/**
 * k6's end-of-test summary: the thresholds with ✓/✗, then one dotted line per metric
 * (`http_req_duration..............: avg=… min=… med=… max=… p(90)=… p(95)=…`), sub-metrics selected by
 * thresholds indented under their metric, and the verdict.
 */
import { formatDuration } from './duration.js';
import { BUILTIN_METRICS, type MetricSummary } from './metrics.js';
import type { ThresholdReport } from './thresholds.js';

export interface SummaryInput {
  readonly metrics: Readonly<Record<string, MetricSummary>>;
  readonly submetrics?: Readonly<Record<string, MetricSummary>> | undefined;
  readonly thresholds?: ThresholdReport | undefined;
  readonly durationMs: number;
  readonly profile?: string | undefined;
  readonly runId?: string | undefined;
}

const DATA_METRICS = new Set(['data_sent', 'data_received']);
const TIME_METRICS = new Set(['http_req_duration', 'iteration_duration']);
const TREND_COLUMNS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'] as const;

/** Bytes as k6 prints them (SI units, one decimal below 10). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ${units[unit]}`;
}

function metricOf(key: string): string {
  const brace = key.indexOf('{');
  return brace === -1 ? key : key.slice(0, brace);
}

function formatValue(metric: string, value: number): string {
  if (TIME_METRICS.has(metric)) return formatDuration(value);
  if (DATA_METRICS.has(metric)) return formatBytes(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, '');
}

function formatActual(key: string, expression: string, actual: number | undefined): string {
  const aggregation = expression
    .trim()
    .split(/\s*(?:<=|>=|==|!=|<|>)\s*/)[0]!
    .replace(/\s+/g, '');
  if (actual === undefined) return `${aggregation}=(no samples)`;
  const metric = metricOf(key);
  if (BUILTIN_METRICS[metric as keyof typeof BUILTIN_METRICS] === 'rate' || aggregation === 'rate') {
    return aggregation === 'rate' && BUILTIN_METRICS[metric as keyof typeof BUILTIN_METRICS] === 'counter'
      ? `rate=${actual.toFixed(2)}/s`
      : `rate=${(actual * 100).toFixed(2)}%`;
  }
  return `${aggregation}=${formatValue(metric, actual)}`;
}

function columns(metric: string, summary: MetricSummary): string[] {
  switch (summary.type) {
    case 'trend':
      return TREND_COLUMNS.map((c) => `${c}=${formatValue(metric, summary[c])}`);
    case 'counter':
      return DATA_METRICS.has(metric)
        ? [formatBytes(summary.count), `${formatBytes(summary.rate)}/s`]
        : [String(summary.count), `${summary.rate.toFixed(6)}/s`];
    case 'rate':
      return [`${(summary.rate * 100).toFixed(2)}%`, `${summary.passes} out of ${summary.passes + summary.fails}`];
    case 'gauge':
      return [String(summary.value), `min=${summary.min}`, `max=${summary.max}`];
  }
}

/** The summary as k6 prints it at the end of a run (no trailing newline). */
export function formatSummary(input: SummaryInput): string {
  const lines: string[] = [];
  const report = input.thresholds;
  const verdictByKey = new Map<string, boolean>();
  for (const r of report?.results ?? []) verdictByKey.set(r.key, (verdictByKey.get(r.key) ?? true) && r.ok);

  if (input.profile !== undefined || input.runId !== undefined) {
    lines.push(`  load ${input.profile ?? ''}${input.runId !== undefined ? ` (run ${input.runId})` : ''}`, '');
  }
  if (report && report.results.length > 0) {
    lines.push('  █ THRESHOLDS', '');
    let previous: string | undefined;
    for (const r of report.results) {
      if (r.key !== previous) {
        if (previous !== undefined) lines.push('');
        lines.push(`    ${r.key}`);
        previous = r.key;
      }
      lines.push(`    ${r.ok ? '✓' : '✗'} '${r.expression}' ${formatActual(r.key, r.expression, r.actual)}`);
    }
    lines.push('');
  }

  // Each metric, then the sub-metrics its thresholds select.
  const rows: { label: string; key: string; summary: MetricSummary; metric: string }[] = [];
  const names = Object.keys(input.metrics).sort();
  for (const name of names) {
    rows.push({ label: name, key: name, summary: input.metrics[name]!, metric: name });
    for (const [key, summary] of Object.entries(input.submetrics ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      if (metricOf(key) === name) {
        const selector = key.slice(name.length).replace(/^\{/, '{ ').replace(/\}$/, ' }');
        rows.push({ label: `  ${selector}`, key, summary, metric: name });
      }
    }
  }
  const width = Math.max(31, ...rows.map((r) => r.label.length + 3));
  const cells = rows.map((r) => columns(r.metric, r.summary));
  // Align columns across rows of the same shape, as k6 aligns its trend columns.
  const columnWidth = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const widths = columnWidth.get(r.summary.type) ?? [];
    cells[i]!.forEach((c, j) => (widths[j] = Math.max(widths[j] ?? 0, c.length)));
    columnWidth.set(r.summary.type, widths);
  });
  lines.push('  █ METRICS', '');
  rows.forEach((r, i) => {
    const mark = verdictByKey.has(r.key) ? (verdictByKey.get(r.key) ? '✓ ' : '✗ ') : '  ';
    const widths = columnWidth.get(r.summary.type)!;
    const text = cells[i]!.map((c, j) => c.padEnd(widths[j]! + 1))
      .join(' ')
      .trimEnd();
    lines.push(`   ${mark}${r.label.padEnd(width, '.')}: ${text}`);
  });
  lines.push('');
  if (report) {
    const failed = report.results.filter((r) => !r.ok).length;
    lines.push(
      report.ok
        ? `  ✓ all ${report.results.length} thresholds passed (${formatDuration(input.durationMs)})`
        : `  ✗ ${failed} of ${report.results.length} thresholds crossed (${formatDuration(input.durationMs)})`,
    );
  }
  return lines.join('\n');
}
