import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@chaos-lab/lab';
import {
  convert,
  boundGoal,
  eachAtMost,
  flatnessGoal,
  fmtMs,
  mean,
  opsPerAssignment,
  percentile,
  ratePerSecond,
  slowest,
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
  it('a lower bound: met at the bound, missed below it with the shortfall factor', () => {
    const two = (x: number) => x.toFixed(2);
    expect(boundGoal(1, '≥', 1, two)).toEqual({ met: true, text: '✓ 1.00 ≥ 1.00' });
    expect(boundGoal(0.31, '≥', 1, two)).toEqual({ met: false, text: '✗ 0.31 < 1.00: 3.2× short' });
    // A near miss is not rounded to 1.0×.
    expect(boundGoal(0.98, '≥', 1, two).text).toBe('✗ 0.98 < 1.00: 1.02× short');
    expect(boundGoal(0, '≥', 1, two).text).toBe('✗ 0.00 < 1.00: none');
  });

  it('an upper bound: met at the bound, missed above it by a factor; seconds read as seconds', () => {
    expect(boundGoal(10, '≤', 10, fmtMs).met).toBe(true);
    expect(boundGoal(24, '≤', 10, fmtMs)).toEqual({ met: false, text: '✗ 24 ms > 10 ms: 2.4× over' });
    expect(boundGoal(4344, '≤', 250, fmtMs).text).toBe('✗ 4.3 s > 250 ms: 17.4× over');
  });

  it('a figure that was not measured misses its goal and says so; a bound must be positive', () => {
    expect(boundGoal(NaN, '≥', 2.5, String)).toEqual({ met: false, text: '✗ not measured (goal ≥ 2.5)' });
    expect(() => boundGoal(1, '≤', 0, String)).toThrow(/bound/);
  });

  it('each of several figures under one bound: met only if all are, naming the worst', () => {
    expect(eachAtMost([9.3, 8, 10], 10, fmtMs)).toEqual({ met: true, text: '✓ each ≤ 10 ms' });
    expect(eachAtMost([9.3, 18, 23], 10, fmtMs).text).toBe('✗ 23 ms > 10 ms: 2.3× over (the worst)');
    expect(eachAtMost([9.3, NaN, 5], 10, fmtMs).met).toBe(false);
    expect(eachAtMost([], 10, fmtMs).met).toBe(false);
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
    saturation: [
      { instances: 1, perSecond: 400, cpuMsPerAssignment: 0.5, contents: 4000 },
      { instances: 3, perSecond: 800, cpuMsPerAssignment: 0.55, contents: 4000 },
    ],
    http: {
      instances: 3,
      perSecond: 300,
      cpuMsPerAssignment: 1,
      contents: 4000,
      uploadsPerSecond: 284,
      concurrency: 32,
    },
    linkLatency: {
      latencyMs: 1,
      runs: [
        { instances: 3, perSecond: 600, cpuMsPerAssignment: 0.7, contents: 4000 },
        { instances: 1, perSecond: 200, cpuMsPerAssignment: 0.6, contents: 4000 },
      ],
    },
    idle: {
      seconds: 12,
      perInstance: [
        {
          cpuMsPerSecond: 8.25,
          callsPerSecond: { 'postgres relay_outbox': 10, 'postgres outbox_pending': 1, 'redis ping': 0 },
        },
        { cpuMsPerSecond: 7.5, callsPerSecond: {} },
      ],
      redisCommandsPerSecond: 0,
      postgresTransactionsPerSecond: 24.5,
    },
    latency: [
      { instances: 3, rate: 400, coordinator: undefined, e2e: { p50Ms: 60, p99Ms: 130 } },
      {
        instances: 1,
        rate: 200,
        coordinator: { p50Ms: 3, p99Ms: 9.5 },
        e2e: { p50Ms: 50, p99Ms: 120 },
        drainMs: 4200,
      },
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
    goals: {
      minPgbenchRatio: 1,
      minScale: 1,
      maxCpuGrowth: 1.2,
      maxP99Ms: 10,
      maxE2eP99Ms: 250,
      minUploadsPerSecond: 1500,
      maxFlatness: 1.25,
      minScaleWithLatency: 2.5,
      linkLatencyMs: 1,
    },
  };
  const t = buildTable(input);
  const row = (figure: string) => t.rows.find((r) => r.figure === figure);
  const goal = (start: string) => t.goals.find((g) => g.goal.startsWith(start));

  it('divides throughput by the slowest dependency', () => {
    expect(t.slowest.dependency).toBe('postgres');
    expect(row('1 instance, kafkajs backlog of 4000')).toMatchObject({ ratio: '0.25', perSecond: '400' });
    expect(row('Kafka produce')?.perSecond).toBe('190,476 (÷2.1)');
  });

  it('has one goal row per goal, in the order of the issue, each computed from its figures', () => {
    expect(t.goals.map((g) => g.met)).toEqual([false, true, true, false, true, false, false, true]);
    expect(goal('end-to-end saturation, 1 instance ÷ pgbench')).toMatchObject({
      measured: '400 ÷ 1,600 = 0.25',
      verdict: '✗ 0.25 < 1.00: 4.0× short',
    });
    expect(goal('3 instances ÷ 1 instance (same')?.measured).toBe('800 ÷ 400 = 2.00');
    expect(goal('coordinator CPU per assignment, 3 instances ÷ 1')?.measured).toBe('0.6 ms ÷ 0.5 ms = 1.10');
    // Sorted by instance count, whatever order they were measured in; a missing histogram fails the goal.
    expect(goal('assignment p99 at half saturation (coordinator histogram), 1 / 3 instances')?.measured).toBe(
      '9.5 ms / n/a',
    );
    expect(goal('publish → slot-assigned event p99')).toMatchObject({ measured: '120 ms / 130 ms', met: true });
    expect(goal('uploads through the ingest')).toMatchObject({ measured: '284/s', met: false });
    // RSS 120/110 = 1.09 but heap 45/32 = 1.41: the worse of the two decides.
    expect(goal('memory per instance, 10 → 2000')).toMatchObject({ measured: 'RSS 1.09, heap used 1.41', met: false });
    expect(goal('3 instances ÷ 1 instance with 1 ms')).toMatchObject({ measured: '600 ÷ 200 = 3.00', met: true });
  });

  it('gives no scaling verdict from one instance count', () => {
    const single = buildTable({ ...input, saturation: input.saturation.slice(0, 1), linkLatency: undefined });
    expect(single.goals.find((g) => g.goal.startsWith('N instances ÷ 1 instance (same'))).toMatchObject({
      measured: 'n/a',
      met: false,
    });
  });

  it('shows what each instance does when idle, busiest calls first, zero rates left out', () => {
    expect(row('coordinator-1: CPU; dependency calls/s')?.value).toBe(
      '8.3 ms/s; postgres relay_outbox 10.0, postgres outbox_pending 1.0',
    );
    expect(row('coordinator-2: CPU; dependency calls/s')?.value).toBe('7.5 ms/s; none');
    expect(row('servers, all instances together')?.value).toBe('Redis 0.0 commands/s; Postgres 24.5 transactions/s');
  });

  it('counts goals and renders every row, the footnotes, the goals and the tally', () => {
    expect([t.goalsMet, t.goalsTotal]).toEqual([4, 8]);
    const text = renderTable(t);
    for (const r of t.rows) expect(text).toContain(r.figure.slice(0, 20));
    for (const g of t.goals) expect(text).toContain(g.verdict.slice(0, 12));
    expect(text).toContain('÷ its operations per assignment');
    expect(text).toContain('goals met: 4 of 8');
  });
});
