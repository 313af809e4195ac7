/**
 * From measured figures to the one table: rows with the figure, its value,
 * the value in assignments per second where it has one, the ratio to the
 * slowest dependency, and the goal with ✓/✗ and the margin. Pure: the same
 * results always give the same rows, so the table is tested on hand-made
 * results.
 */
import Table from 'cli-table3';
import {
  boundGoal,
  convert,
  eachAtMost,
  flatnessGoal,
  fmtMs,
  mean,
  slowest,
  type ConvertedRate,
  type GoalVerdict,
  type RawRate,
} from './goals.js';

/** The goals of the table (issue 13), each a bound on one figure. */
export interface Goals {
  /** Saturation with 1 instance ÷ pgbench's rate of the one-assignment transaction, at least. */
  readonly minPgbenchRatio: number;
  /** Saturation with the most instances ÷ with 1, at least. */
  readonly minScale: number;
  /** Coordinator CPU per assignment with the most instances ÷ with 1, at most. */
  readonly maxCpuGrowth: number;
  /** The coordinator histogram's p99 at half saturation, for each instance count, at most. */
  readonly maxP99Ms: number;
  /** Publish → slot-assigned p99 at half saturation, for each instance count, at most. */
  readonly maxE2eP99Ms: number;
  /** Uploads through the ingest per second (the most instances), at least. */
  readonly minUploadsPerSecond: number;
  /** Memory per instance across batch sizes: largest ÷ smallest per-size maximum, at most (RSS and heap). */
  readonly maxFlatness: number;
  /** Saturation with the most instances ÷ with 1, with `linkLatencyMs` on every Redis and Postgres link, at least. */
  readonly minScaleWithLatency: number;
  /** The latency added to every round trip on the Redis and Postgres links of that row. */
  readonly linkLatencyMs: number;
}

export interface SaturationRow {
  readonly instances: number;
  readonly perSecond: number;
  readonly cpuMsPerAssignment: number;
  readonly contents: number;
  /** Shown beside the figure (span, other work on the machine). */
  readonly note?: string;
}

/** What the table is made from; also the shape written to runs/bench-<time>.json (with more detail beside it). */
export interface TableInput {
  readonly essaysPerBatch: number;
  readonly raw: readonly RawRate[];
  /** Saturation from a kafkajs backlog, one per instance count. */
  readonly saturation: readonly SaturationRow[];
  /** Saturation through the ingest's HTTP API. */
  readonly http?: SaturationRow & { readonly uploadsPerSecond: number; readonly concurrency: number };
  /** Saturation with latency on every Redis and Postgres link (through the fault proxy), one per instance count. */
  readonly linkLatency?: { readonly latencyMs: number; readonly runs: readonly SaturationRow[] };
  /** What each instance does with no work at all. */
  readonly idle?: IdleFigures;
  readonly latency: readonly {
    readonly instances: number;
    readonly rate: number;
    readonly coordinator: { readonly p50Ms: number; readonly p99Ms: number } | undefined;
    readonly e2e: { readonly p50Ms: number; readonly p99Ms: number };
    /** Last publish → last assignment (how far the pipeline fell behind the rate). */
    readonly drainMs?: number;
    /** Shown under the latency figures, e.g. how busy the machine was otherwise. */
    readonly note?: string;
  }[];
  /** Coordinator instances of the memory runs. */
  readonly memoryInstances: number;
  readonly memory: readonly {
    readonly essaysPerBatch: number;
    readonly rssBytes: readonly number[];
    readonly heapUsedBytes: readonly number[];
  }[];
  readonly goals: Goals;
}

/** Per second, with no input: each instance's CPU and calls to its dependencies, and the servers' own counters. */
export interface IdleFigures {
  readonly seconds: number;
  readonly perInstance: readonly {
    readonly cpuMsPerSecond: number;
    /** Calls per second by `dependency operation` (the instance's coordinator_dependency_duration_seconds_count). */
    readonly callsPerSecond: Readonly<Record<string, number>>;
  }[];
  /** Commands Redis processed per second (INFO total_commands_processed), all instances together. */
  readonly redisCommandsPerSecond: number;
  /** Transactions Postgres committed or rolled back per second (pg_stat_database), all instances together. */
  readonly postgresTransactionsPerSecond: number;
}

export interface Row {
  readonly section: string;
  readonly figure: string;
  readonly value: string;
  readonly perSecond: string;
  readonly ratio: string;
}

export interface GoalRow {
  readonly goal: string;
  readonly measured: string;
  readonly verdict: string;
  readonly met: boolean;
}

export interface BuiltTable {
  readonly rows: readonly Row[];
  readonly goals: readonly GoalRow[];
  readonly converted: readonly ConvertedRate[];
  readonly slowest: ConvertedRate;
  readonly footnotes: readonly string[];
  readonly goalsMet: number;
  readonly goalsTotal: number;
}

const num = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
const fixed = (d: number) => (x: number) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const instancesText = (n: number) => `${n} instance${n > 1 ? 's' : ''}`;
const msText = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');

export function buildTable(input: TableInput): BuiltTable {
  const rows: Row[] = [];
  const converted = input.raw.map((r) => convert(r, input.essaysPerBatch));
  const slow = slowest(converted);
  const row = (section: string, figure: string, value: string, perSecond = '', ratio = '') =>
    rows.push({ section, figure, value, perSecond, ratio });
  for (const c of converted) {
    row(
      'raw rate of a dependency, by its own tool',
      c.label,
      `${num(c.rate)} ${c.unit}`,
      `${num(c.assignmentsPerSecond)}${c.opsPerAssignment === 1 ? '' : ` (÷${+c.opsPerAssignment.toFixed(2)})`}`,
    );
  }
  row(
    'raw rate of a dependency, by its own tool',
    `slowest dependency: ${slow.dependency}`,
    '',
    num(slow.assignmentsPerSecond),
    '1.00',
  );
  const saturationRow = (section: string, label: string, s: SaturationRow) =>
    row(
      section,
      label,
      `${s.note ? `${s.note}; ` : ''}coordinator CPU ${s.cpuMsPerAssignment.toFixed(2)} ms/assignment`,
      num(s.perSecond),
      (s.perSecond / slow.assignmentsPerSecond).toFixed(2),
    );
  for (const s of input.saturation)
    saturationRow(
      'end-to-end saturation throughput',
      `${instancesText(s.instances)}, kafkajs backlog of ${s.contents}`,
      s,
    );
  if (input.http)
    saturationRow(
      'end-to-end saturation throughput',
      `${instancesText(input.http.instances)}, through ingest HTTP (${input.http.concurrency} in flight): uploads ${num(input.http.uploadsPerSecond)}/s`,
      input.http,
    );
  if (input.linkLatency)
    for (const s of input.linkLatency.runs)
      saturationRow(
        `saturation with ${input.linkLatency.latencyMs} ms added to every Redis and Postgres round trip`,
        `${instancesText(s.instances)}, kafkajs backlog of ${s.contents}`,
        s,
      );
  if (input.idle) {
    const section = `idle: per second over ${input.idle.seconds.toFixed(0)} s with no input`;
    input.idle.perInstance.forEach((p, i) => {
      const calls = Object.entries(p.callsPerSecond)
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([op, n]) => `${op} ${n.toFixed(1)}`);
      row(
        section,
        `coordinator-${i + 1}: CPU; dependency calls/s`,
        `${p.cpuMsPerSecond.toFixed(1)} ms/s; ${calls.join(', ') || 'none'}`,
      );
    });
    row(
      section,
      'servers, all instances together',
      `Redis ${input.idle.redisCommandsPerSecond.toFixed(1)} commands/s; Postgres ${input.idle.postgresTransactionsPerSecond.toFixed(1)} transactions/s`,
    );
  }
  for (const l of input.latency) {
    const section = 'assignment latency at half the saturation rate';
    const at = `${instancesText(l.instances)} @ ${num(l.rate)}/s`;
    row(
      section,
      `${at}: coordinator histogram p50 / p99`,
      l.coordinator
        ? `${fmtMs(l.coordinator.p50Ms)} / ${fmtMs(l.coordinator.p99Ms)}${l.note ? `\n${l.note}` : ''}`
        : 'n/a (no Prometheus)',
    );
    row(
      section,
      `${at}: publish → slot-assigned p50 / p99`,
      `${fmtMs(l.e2e.p50Ms)} / ${fmtMs(l.e2e.p99Ms)}${l.drainMs === undefined ? '' : `\nlast assigned ${fmtMs(l.drainMs)} after the last publish`}`,
    );
  }
  const memoryFlat: { what: string; ratio: number; values: number[] }[] = [];
  if (input.memory.length > 0) {
    const section = `memory per instance after the run (${instancesText(input.memoryInstances)})`;
    for (const m of input.memory) {
      row(
        section,
        `${m.essaysPerBatch} essays/batch: RSS max / mean`,
        `${mib(Math.max(...m.rssBytes))} / ${mib(mean(m.rssBytes))}`,
      );
      row(
        section,
        `${m.essaysPerBatch} essays/batch: heap used max / mean`,
        `${mib(Math.max(...m.heapUsedBytes))} / ${mib(mean(m.heapUsedBytes))}`,
      );
    }
    if (input.memory.length >= 2)
      for (const [what, pick] of [
        ['RSS', (m: TableInput['memory'][number]) => Math.max(...m.rssBytes)],
        ['heap used', (m: TableInput['memory'][number]) => Math.max(...m.heapUsedBytes)],
      ] as const) {
        const values = input.memory.map(pick);
        memoryFlat.push({ what, ratio: flatnessGoal(values, input.goals.maxFlatness).ratio, values });
        row(section, `${what} (max per instance) across batch sizes`, values.map(mib).join(' · '));
      }
  }
  const goals = goalRows(input, memoryFlat);
  const footnotes = [
    `assignments/s of a dependency = its raw rate ÷ its operations per assignment: Redis 1 assign-script call, ` +
      `Postgres 1 write transaction (the batch-closing statements included on every ${input.essaysPerBatch}th), ` +
      `Kafka ${+(2 + 2 / input.essaysPerBatch).toFixed(2)} messages produced (content in + slot-assigned out, ` +
      `+ registration in and batch-ready out per ${input.essaysPerBatch} essays).`,
    `ratio = our assignments/s ÷ the slowest dependency's (${slow.dependency}, ${num(slow.assignmentsPerSecond)}/s).`,
    `"the most instances" is ${instancesText(Math.max(1, ...input.saturation.map((s) => s.instances)))}; a goal ` +
      `comparing it with 1 instance has no verdict when only 1 was measured.`,
  ];
  return {
    rows,
    goals,
    converted,
    slowest: slow,
    footnotes,
    goalsMet: goals.filter((g) => g.met).length,
    goalsTotal: goals.length,
  };
}

/** The goal rows: one per goal of {@link Goals}, each with the figures it is computed from. */
function goalRows(input: TableInput, memoryFlat: readonly { what: string; ratio: number }[]): GoalRow[] {
  const g = input.goals;
  const out: GoalRow[] = [];
  const add = (goal: string, measured: string, v: GoalVerdict) =>
    out.push({ goal, measured, verdict: v.text, met: v.met });
  const byCount = [...input.saturation].sort((a, b) => a.instances - b.instances);
  const one = byCount.find((s) => s.instances === 1);
  const most = byCount.at(-1);
  const mostText = most && most.instances > 1 ? `${most.instances}` : 'N';
  const pg = input.raw.find((r) => r.dependency === 'postgres');
  const sat1 = one?.perSecond ?? NaN;
  add(
    'end-to-end saturation, 1 instance ÷ pgbench rate of the one-assignment transaction',
    `${num(sat1)} ÷ ${num(pg?.rate ?? NaN)} = ${fixed(2)(sat1 / (pg?.rate ?? NaN))}`,
    boundGoal(sat1 / (pg?.rate ?? NaN), '≥', g.minPgbenchRatio, fixed(2)),
  );
  const scaled = most && most.instances > 1 && one;
  add(
    `${mostText} instances ÷ 1 instance (same machine, same servers)`,
    scaled ? `${num(most.perSecond)} ÷ ${num(one.perSecond)} = ${fixed(2)(most.perSecond / one.perSecond)}` : 'n/a',
    boundGoal(scaled ? most.perSecond / one.perSecond : NaN, '≥', g.minScale, fixed(2)),
  );
  add(
    `coordinator CPU per assignment, ${mostText} instances ÷ 1 instance`,
    scaled
      ? `${msText(most.cpuMsPerAssignment)} ÷ ${msText(one.cpuMsPerAssignment)} = ${fixed(2)(most.cpuMsPerAssignment / one.cpuMsPerAssignment)}`
      : 'n/a',
    boundGoal(scaled ? most.cpuMsPerAssignment / one.cpuMsPerAssignment : NaN, '≤', g.maxCpuGrowth, fixed(2)),
  );
  const lat = [...input.latency].sort((a, b) => a.instances - b.instances);
  const counts = lat.map((l) => l.instances).join(' / ');
  const hist = lat.map((l) => l.coordinator?.p99Ms ?? NaN);
  add(
    `assignment p99 at half saturation (coordinator histogram), ${counts} instances`,
    hist.map(fmtMs).join(' / '),
    eachAtMost(hist, g.maxP99Ms, fmtMs),
  );
  const e2e = lat.map((l) => l.e2e.p99Ms);
  add(
    `publish → slot-assigned event p99 at half saturation, ${counts} instances`,
    e2e.map(fmtMs).join(' / '),
    eachAtMost(e2e, g.maxE2eP99Ms, fmtMs),
  );
  add(
    `uploads through the ingest (HTTP → Postgres → Kafka), ${input.http ? instancesText(input.http.instances) : 'n/a'}`,
    input.http ? `${num(input.http.uploadsPerSecond)}/s` : 'n/a',
    boundGoal(input.http?.uploadsPerSecond ?? NaN, '≥', g.minUploadsPerSecond, (x) => `${num(x)}/s`),
  );
  const worstFlat = memoryFlat.length > 0 ? Math.max(...memoryFlat.map((m) => m.ratio)) : NaN;
  add(
    `memory per instance, ${input.memory.map((m) => m.essaysPerBatch).join(' → ')} essays per batch (max ÷ min)`,
    memoryFlat.length > 0 ? memoryFlat.map((m) => `${m.what} ${m.ratio.toFixed(2)}`).join(', ') : 'n/a',
    boundGoal(worstFlat, '≤', g.maxFlatness, fixed(2)),
  );
  const runs = [...(input.linkLatency?.runs ?? [])].sort((a, b) => a.instances - b.instances);
  const l1 = runs.find((r) => r.instances === 1);
  const lN = runs.at(-1);
  const latScaled = l1 && lN && lN.instances > 1;
  add(
    `${latScaled ? lN.instances : 'N'} instances ÷ 1 instance with ${g.linkLatencyMs} ms on every Redis and Postgres round trip`,
    latScaled ? `${num(lN.perSecond)} ÷ ${num(l1.perSecond)} = ${fixed(2)(lN.perSecond / l1.perSecond)}` : 'n/a',
    boundGoal(latScaled ? lN.perSecond / l1.perSecond : NaN, '≥', g.minScaleWithLatency, fixed(2)),
  );
  return out;
}

export function renderTable(t: BuiltTable): string {
  const details = new Table({
    head: ['figure', 'measured', 'assignments/s', 'ratio'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [58, 50, 16, 7],
  });
  let section = '';
  for (const r of t.rows) {
    if (r.section !== section) {
      section = r.section;
      details.push([{ colSpan: 4, content: section.toUpperCase() }]);
    }
    details.push([r.figure, r.value, r.perSecond, r.ratio]);
  }
  const goals = new Table({
    head: ['goal', 'measured', 'verdict'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [58, 38, 36],
  });
  for (const g of t.goals) goals.push([g.goal, g.measured, g.verdict]);
  return [
    details.toString(),
    ...t.footnotes.map((f, i) => `${'*'.repeat(i + 1)} ${f}`),
    '',
    'GOALS',
    goals.toString(),
    `goals met: ${t.goalsMet} of ${t.goalsTotal}`,
  ].join('\n');
}
