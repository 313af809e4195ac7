import { describe, expect, test } from 'vitest';
import type { MetricSamples } from './metrics.js';
import { ThresholdSyntaxError, evaluateThresholds, parseThreshold } from './thresholds.js';

const trend = (values: number[]): MetricSamples => ({
  type: 'trend',
  sorted: [...values].sort((a, b) => a - b),
  sum: values.reduce((a, b) => a + b, 0),
});

describe('parsing', () => {
  test('k6 expressions', () => {
    expect(parseThreshold('http_req_duration', 'p(95)<250')).toMatchObject({
      metric: 'http_req_duration',
      aggregation: 'p(95)',
      operator: '<',
      target: 250,
    });
    expect(parseThreshold('http_req_duration', ' p( 99.9 ) <= 1e3 ')).toMatchObject({
      aggregation: 'p(99.9)',
      operator: '<=',
      target: 1000,
    });
    expect(parseThreshold('http_reqs', 'count>=10').operator).toBe('>=');
    expect(parseThreshold('vus', 'value==3').aggregation).toBe('value');
    expect(parseThreshold('http_req_duration{name:upload,status:202}', 'med<5').tags).toEqual({
      name: 'upload',
      status: '202',
    });
  });

  test.each([
    ['http_req_duration', 'p95<250', 'expected'],
    ['http_req_duration', 'p(95) < fast', 'expected'],
    ['http_req_duration', 'rate<0.1', 'does not apply to a trend'],
    ['http_req_failed', 'avg<0.1', 'does not apply to a rate'],
    ['http_reqs', 'p(90)<3', 'does not apply to a counter'],
    ['http_req_duration', 'p(101)<3', 'between 0 and 100'],
    ['http_req_durations', 'p(95)<250', 'unknown metric'],
    ['iterations{name:upload}', 'count<1', 'carries no tags'],
    ['http_req_duration{scenario:x}', 'p(95)<250', 'sub-metric selector'],
  ])('%s: %s is rejected naming both', (metric, expression, reason) => {
    let error: unknown;
    try {
      parseThreshold(metric, expression);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ThresholdSyntaxError);
    const e = error as ThresholdSyntaxError;
    expect(e.metric).toBe(metric);
    expect(e.expression).toBe(expression);
    expect(e.message).toContain(metric);
    expect(e.message).toContain(JSON.stringify(expression));
    expect(e.message).toContain(reason);
  });
});

describe('evaluation', () => {
  const durations = trend([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  const source = {
    http_req_duration: durations,
    http_req_failed: { type: 'rate', trues: 2, total: 100 },
    http_reqs: { type: 'counter', count: 100, durationMs: 10_000 },
    vus: { type: 'gauge', value: 4, min: 1, max: 5 },
  } satisfies Record<string, MetricSamples>;

  test('each aggregation, k6 percentiles interpolating between ranks', () => {
    const report = evaluateThresholds(
      {
        http_req_duration: ['avg==55', 'min==10', 'max==100', 'med==55', 'p(90)==91', 'p(95)>95', 'p(95)<96'],
        http_req_failed: ['rate==0.02'],
        http_reqs: ['count==100', 'rate==10'],
        vus: ['value==4'],
      },
      source,
    );
    expect(report.results.filter((r) => !r.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.results.find((r) => r.expression === 'p(95)>95')!.actual).toBeCloseTo(95.5);
  });

  test('every operator, and the verdict is the conjunction', () => {
    const report = evaluateThresholds(
      { http_req_failed: ['rate<0.02', 'rate<=0.02', 'rate>0.01', 'rate>=0.03', 'rate!=0.02'] },
      source,
    );
    expect(report.results.map((r) => r.ok)).toEqual([false, true, true, false, false]);
    expect(report.ok).toBe(false);
  });

  test('a metric without samples passes and says so', () => {
    const report = evaluateThresholds(
      { http_req_duration: ['p(95)<1'], http_req_failed: ['rate<0.5'] },
      { http_req_duration: trend([]), http_req_failed: { type: 'rate', trues: 0, total: 0 } },
    );
    expect(report.ok).toBe(true);
    expect(report.results.map((r) => r.actual)).toEqual([undefined, undefined]);
  });

  test('sub-metrics come from the lookup function with their tags', () => {
    const seen: unknown[] = [];
    const report = evaluateThresholds({ 'http_req_duration{name:upload}': ['p(95)<50'] }, (metric, tags) => {
      seen.push([metric, tags]);
      return trend([100]);
    });
    expect(seen).toEqual([['http_req_duration', { name: 'upload' }]]);
    expect(report.ok).toBe(false);
  });

  test('a bad expression throws before anything is evaluated', () => {
    expect(() => evaluateThresholds({ http_reqs: ['count<'] }, source)).toThrow(ThresholdSyntaxError);
  });
});
