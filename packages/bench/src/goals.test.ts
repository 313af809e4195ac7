import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@chaos-lab/lab';
import {
  convert,
  flatnessGoal,
  latencyGoal,
  mean,
  opsPerAssignment,
  percentile,
  ratePerSecond,
  slowest,
  throughputGoal,
} from './goals.js';
import { buildTable, renderTable, type TableInput } from './report.js';

describe('conversion to assignments per second', () => {
  it('costs one Redis call and one Postgres transaction per assignment', () => {
    expect(opsPerAssignment('redis', 20)).toBe(1);
    expect(opsPerAssignment('postgres', 20)).toBe(1);
  });

  it('costs 2 Kafka messages plus the batch-wide two shared by its essays', () => {
    expect(opsPerAssignment('kafka', 20)).toBeCloseTo(2.1, 10);
    expect(opsPerAssignment('kafka', 1)).toBe(4);
    expect(
      convert({ dependency: 'kafka', label: 'k', rate: 420_000, unit: 'msg/s' }, 20).assignmentsPerSecond,
    ).toBeCloseTo(200_000, 6);
  });

  it('rejects a batch size below one, naming it', () => {
    expect(() => opsPerAssignment('kafka', 0)).toThrow(InvalidArgumentError);
    expect(() => opsPerAssignment('kafka', 0)).toThrow(/essaysPerBatch/);
  });

  it('picks the slowest after conversion, not by the raw figure', () => {
    // Kafka's raw figure is the smallest here, but it needs 2.1 messages per assignment… and Postgres is slower still.
    const rates = [
      convert({ dependency: 'redis', label: 'r', rate: 30_000, unit: 'req/s' }, 20),
      convert({ dependency: 'postgres', label: 'p', rate: 1_500, unit: 'tx/s' }, 20),
      convert({ dependency: 'kafka', label: 'k', rate: 2_100, unit: 'msg/s' }, 20),
    ];
    expect(slowest(rates).dependency).toBe('kafka');
    expect(slowest(rates).assignmentsPerSecond).toBeCloseTo(1000, 6);
    expect(slowest(rates.slice(0, 2)).dependency).toBe('postgres');
    expect(() => slowest([])).toThrow(InvalidArgumentError);
  });
});

describe('goals', () => {
  it('throughput: met at exactly half, missed below with the shortfall factor', () => {
    expect(throughputGoal(0.5).met).toBe(true);
    const g = throughputGoal(0.2);
    expect(g.met).toBe(false);
    expect(g.text).toBe('✗ 20 % < 50 %: 2.5× short');
  });

  it('throughput: a near miss is not rounded to 1.0×', () => {
    expect(throughputGoal(0.49).text).toBe('✗ 49 % < 50 %: 1.02× short');
  });

  it('latency: p99 of 10 ms is met, 24 ms is 2.4× over, seconds read as seconds', () => {
    expect(latencyGoal(10).met).toBe(true);
    expect(latencyGoal(24)).toEqual({ met: false, text: '✗ 24 ms > 10 ms: 2.4× over' });
    expect(latencyGoal(4344).text).toBe('✗ 4.3 s > 10 ms: 434× over');
    expect(latencyGoal(9.99).text).toBe('✓ 10.0 ms ≤ 10 ms');
  });

  it('flatness: max/min against the bound, with how far over', () => {
    expect(flatnessGoal([100, 110, 125]).met).toBe(true);
    const g = flatnessGoal([100, 150, 120]);
    expect(g.ratio).toBe(1.5);
    expect(g.met).toBe(false);
    expect(g.text).toBe('✗ max/min 1.50 > 1.25: 20 % over');
    expect(() => flatnessGoal([100])).toThrow(InvalidArgumentError);
    expect(() => flatnessGoal([100, 0])).toThrow(InvalidArgumentError);
  });
});

describe('statistics', () => {
  it('nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.99)).toBe(99);
    expect(percentile(xs, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
    expect(() => percentile([], 0.5)).toThrow(InvalidArgumentError);
    expect(() => percentile([1], 1.5)).toThrow(/q/);
  });

  it('rate over n events counts n − 1 intervals, in any order', () => {
    expect(ratePerSecond([3000, 1000, 2000])).toBe(1); // 3 events over 2 s
    expect(ratePerSecond([0, 10])).toBe(100);
    expect(() => ratePerSecond([5])).toThrow(InvalidArgumentError);
    expect(() => ratePerSecond([5, 5])).toThrow(/differ/);
  });

  it('mean', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(() => mean([])).toThrow(InvalidArgumentError);
  });
});

describe('the table', () => {
  const MiB = 1048576;
  const input: TableInput = {
    essaysPerBatch: 20,
    raw: [
      { dependency: 'redis', label: 'Redis no pipeline', rate: 30_000, unit: 'req/s' },
      { dependency: 'postgres', label: 'Postgres tx', rate: 1_600, unit: 'tx/s' },
      { dependency: 'kafka', label: 'Kafka produce', rate: 400_000, unit: 'msg/s' },
    ],
    throughput: [
      { label: '1 instance', perSecond: 400 },
      { label: '3 instances', perSecond: 800 },
    ],
    latency: [
      {
        instances: 1,
        rate: 200,
        coordinator: { p50Ms: 3, p99Ms: 9.5 },
        e2e: { p50Ms: 50, p99Ms: 120 },
        drainMs: 4200,
      },
      { instances: 3, rate: 400, coordinator: undefined, e2e: { p50Ms: 60, p99Ms: 130 } },
    ],
    memoryInstances: 3,
    memory: [
      {
        essaysPerBatch: 10,
        rssBytes: [100 * MiB, 110 * MiB, 105 * MiB],
        heapUsedBytes: [30 * MiB, 31 * MiB, 32 * MiB],
      },
      {
        essaysPerBatch: 2000,
        rssBytes: [120 * MiB, 100 * MiB, 100 * MiB],
        heapUsedBytes: [45 * MiB, 30 * MiB, 30 * MiB],
      },
    ],
    goals: { minRatio: 0.5, maxP99Ms: 10, maxFlatness: 1.25 },
  };
  const t = buildTable(input);
  const row = (figure: string) => t.rows.find((r) => r.figure === figure);

  it('divides throughput by the slowest dependency and judges it', () => {
    expect(t.slowest.dependency).toBe('postgres');
    expect(row('1 instance')).toMatchObject({ ratio: '0.25', met: false });
    expect(row('3 instances')).toMatchObject({ ratio: '0.50', met: true });
    expect(row('Kafka produce')?.perSecond).toBe('190,476 (÷2.1)');
  });

  it('judges both latency figures and says when a histogram is missing', () => {
    expect(row('1 instance @ 200/s: coordinator histogram p50 / p99')).toMatchObject({ met: true });
    expect(row('1 instance @ 200/s: publish → slot-assigned p50 / p99')).toMatchObject({
      met: false,
      value: '50 ms / 120 ms\nlast assigned 4.2 s after the last publish',
    });
    expect(row('3 instances @ 400/s: coordinator histogram')?.value).toMatch(/n\/a/);
  });

  it('judges flatness on the per-size maxima', () => {
    expect(row('RSS (max per instance) across batch sizes')).toMatchObject({ met: true }); // 120 / 110
    expect(row('heap used (max per instance) across batch sizes')).toMatchObject({ met: false }); // 45 / 32
  });

  it('counts goals and renders every row, the footnotes and the tally', () => {
    expect([t.goalsMet, t.goalsTotal]).toEqual([3, 7]);
    const text = renderTable(t);
    for (const r of t.rows) expect(text).toContain(r.figure.slice(0, 20));
    expect(text).toContain('÷ its operations per assignment');
    expect(text).toContain('goals met: 3 of 7');
  });
});
