import type { ReportInput } from './model.js';

/**
 * A realistic chaos-run input, made up but shaped like a pipeline seed's: two faults (Redis latency for every
 * instance, a kill -9), a timeline of the three instances' lives and of input and output rates (1 s bins over
 * the 5 minutes), three charts of a few hundred points each that react to them, and two failing checkers with
 * counterexamples — one placed in time, one judged at the end. Deterministic, for previews and the package's
 * tests.
 */
export function sampleReportInput(startedAt = Date.UTC(2025, 5, 1, 12, 0, 0)): ReportInput {
  const durationS = 300;
  const endedAt = startedAt + durationS * 1000;
  const at = (s: number): number => startedAt + s * 1000;
  let seed = 3;
  // A small LCG: the same noise every time, so the screenshot only changes when the page does.
  const noise = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  const latency = { start: at(60), end: at(120) };
  const kill = { start: at(150), end: at(190) };
  const seconds = Array.from({ length: durationS }, (_, s) => s);

  const throughput = ['instance-1', 'instance-2', 'instance-3'].map((name, i) => ({
    name,
    points: seconds.map((s): [number, number | null] => {
      const t = at(s);
      if (name === 'instance-2' && t >= kill.start && t < kill.end) return [t, null];
      const slow = t >= latency.start && t < latency.end ? 0.45 : 1;
      const takeover = name !== 'instance-2' && t >= kill.start && t < kill.end ? 1.45 : 1;
      return [t, Math.max(0, (58 + i * 6) * slow * takeover + noise() * 9)];
    }),
  }));

  const p99 = seconds.map((s): [number, number] => {
    const t = at(s);
    const base =
      t >= latency.start && t < latency.end ? 0.23 : t >= kill.start && t < kill.start + 25_000 ? 0.09 : 0.018;
    return [t, Math.max(0.002, base + noise() * base * 0.5)];
  });
  const p50 = p99.map(([t, v]): [number, number] => [t, v * 0.35 + Math.abs(noise()) * 0.002]);

  let lag = 0;
  const consumerLag = seconds
    .filter((s) => s % 2 === 0)
    .map((s): [number, number] => {
      const t = at(s);
      const grows = (t >= latency.start && t < latency.end) || (t >= kill.start && t < kill.start + 20_000);
      lag = Math.max(0, lag + (grows ? 38 : -45) + noise() * 20);
      return [t, Math.round(lag)];
    });

  // Inputs at a steady 72/s, acknowledged a little later; outputs dip in the latency window and while
  // instance-2 is gone, then catch up.
  const bins = seconds.map((s) => at(s));
  const published = bins.map(() => Math.round(72 + noise() * 6));
  const acknowledged = published.map((n, i) => (i === 0 ? n - 3 : n + (i === 1 ? 3 : 0)));
  const slowdown = (t: number) =>
    t >= latency.start && t < latency.end ? 0.5 : t >= kill.start && t < kill.start + 20_000 ? 0.6 : 1;
  let backlog = 0;
  const assigned = bins.map((t, i) => {
    backlog += published[i]!;
    const n = Math.min(backlog, Math.round(80 * slowdown(t) + noise() * 5));
    backlog -= n;
    return n;
  });
  const ready = bins.map((_, i) => (i % 14 === 7 ? 1 : 0));
  const life = (id: string, pid: number) => [
    { time: startedAt - 40_000, kind: 'running' as const, note: `pid ${pid}` },
    { time: at(0.8), kind: 'joined' as const, note: '6 partitions' },
    {
      time: at(191.5),
      kind: 'joined' as const,
      note: id === 'instance-2' ? '6 partitions' : '6 partitions (rebalanced)',
    },
  ];

  return {
    kind: 'chaos',
    title: 'pipeline — seed 3',
    runId: 'pipeline-3-20250601T120000Z',
    startedAt,
    endedAt,
    outcome: 'invalid',
    replayCommand: 'npm run lab -- run pipeline --seed 3',
    facts: [
      { label: 'Seed', value: '3' },
      { label: 'Instances', value: '3' },
      { label: 'Batches', value: '50 × 20 slots' },
      { label: 'Events sent', value: '21 480' },
      { label: 'Throughput', value: '71.6 events/s' },
      { label: 'Redelivered', value: '10 % (2 148)' },
      { label: 'Operations', value: '21 480 ok · 12 fail · 3 info' },
      { label: 'Faults', value: '2 (latency, kill -9)' },
    ],
    faults: [
      {
        label: 'Redis +200 ms',
        kind: 'latency',
        target: 'redis',
        start: latency.start,
        end: latency.end,
        effect: 'probe through the proxy: 204 ms (was 0.4 ms); redis_command_seconds p99 0.23 s',
      },
      {
        label: 'kill -9 instance-2',
        kind: 'kill',
        target: 'instance-2',
        start: kill.start,
        end: kill.end,
        effect: 'pid 41872 gone; restarted at T+190 s, rejoined the group after 2 rebalances',
      },
    ],
    timeline: {
      binMs: 1000,
      rates: [
        { name: 'published', group: 'inputs', counts: published },
        { name: 'acknowledged', group: 'inputs', counts: acknowledged },
        { name: 'slot assigned', group: 'outputs', counts: assigned },
        { name: 'batch ready', group: 'outputs', counts: ready },
      ],
      instances: [
        { id: 'instance-1', events: life('instance-1', 41870) },
        {
          id: 'instance-2',
          events: [
            ...life('instance-2', 41872).slice(0, 2),
            { time: kill.start + 3, kind: 'killed', note: 'pid 41872' },
            { time: kill.start + 9, kind: 'exited', note: 'pid 41872, signal SIGKILL' },
            { time: kill.end - 1500, kind: 'started', note: 'pid 42210' },
            { time: kill.end - 400, kind: 'ready', note: 'pid 42210' },
            { time: at(191.5), kind: 'joined', note: 'pid 42210, 6 partitions' },
          ],
        },
        { id: 'instance-3', events: life('instance-3', 41871) },
      ],
      note: 'Rates: made up for the sample, per 1000 ms bin.',
    },
    charts: [
      {
        id: 'throughput',
        title: 'Assignments per second, per instance',
        unit: 'ops/s',
        series: throughput,
        note: 'sum by (instance) (rate(coordinator_assignments_total[10s]))',
      },
      {
        id: 'assign-latency',
        title: 'Assignment latency',
        unit: 's',
        series: [
          { name: 'p50', points: p50 },
          { name: 'p99', points: p99 },
        ],
        note: 'histogram_quantile(0.99, sum by (le) (rate(coordinator_assign_seconds_bucket[10s])))',
      },
      {
        id: 'consumer-lag',
        title: 'Consumer lag (essay.content topic)',
        unit: 'messages',
        series: [{ name: 'lag', points: consumerLag }],
        note: 'sum(kafka_consumergroup_lag{group="batch-coordinator"})',
      },
    ],
    verdicts: [
      {
        checker: 'no-double-assignment',
        valid: true,
        summary: 'each of 1 000 contents went to exactly one slot',
        counterexamples: [],
      },
      {
        checker: 'no-lost-content',
        valid: false,
        summary: '2 contents acknowledged by Kafka were never assigned',
        violatedAt: { time: at(151.204), how: 'counterexample 1 of 2: the history entry it names' },
        counterexamples: [
          {
            contentId: 'c-3-0412',
            batchId: 'b-3-021',
            published: { at: '2025-06-01T12:02:31.204Z', partition: 2, offset: 1841 },
            observed: null,
          },
          {
            contentId: 'c-3-0419',
            batchId: 'b-3-021',
            published: { at: '2025-06-01T12:02:31.377Z', partition: 2, offset: 1843 },
            observed: null,
          },
        ],
      },
      {
        checker: 'batch-completed-once',
        valid: true,
        summary: '50 batches completed, none twice',
        counterexamples: [],
      },
      {
        checker: 'every-batch-finished',
        valid: 'unknown',
        summary: '1 batch still open when the run ended (its last content is one of the lost ones)',
        counterexamples: [{ batchId: 'b-3-021', slotsFilled: 18, slots: 20 }],
      },
      { checker: 'faults-took-effect', valid: true, summary: 'both faults showed evidence', counterexamples: [] },
      {
        checker: 'stores-agree',
        valid: false,
        summary: 'Redis and Postgres disagree on 1 batch at the final read',
        counterexamples: [{ message: 'batch b-3-021: slot e-7 is free in Redis but assigned in Postgres' }],
      },
    ],
    logs: [
      { name: 'instance-1.log', href: 'logs/instance-1.log' },
      { name: 'instance-2.log', href: 'logs/instance-2.log' },
      { name: 'instance-3.log', href: 'logs/instance-3.log' },
      { name: 'history.jsonl', href: 'history.jsonl' },
      { name: 'verdicts.json', href: 'verdicts.json' },
    ],
  };
}
