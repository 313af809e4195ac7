/**
 * From measured figures to the one table: rows with the figure, its value,
 * the value in assignments per second where it has one, the ratio to the
 * slowest dependency, and the goal with ✓/✗ and the margin. Pure: the same
 * results always give the same rows, so the table is tested on hand-made
 * results.
 */
import Table from 'cli-table3';
import {
  convert,
  flatnessGoal,
  fmtMs,
  latencyGoal,
  mean,
  slowest,
  throughputGoal,
  type ConvertedRate,
  type RawRate,
} from './goals.js';

/** What the table is made from; also the shape written to runs/bench-<time>.json (with more detail beside it). */
export interface TableInput {
  readonly essaysPerBatch: number;
  readonly raw: readonly RawRate[];
  readonly throughput: readonly { readonly label: string; readonly perSecond: number; readonly note?: string }[];
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
  readonly goals: { readonly minRatio: number; readonly maxP99Ms: number; readonly maxFlatness: number };
}

export interface Row {
  readonly section: string;
  readonly figure: string;
  readonly value: string;
  readonly perSecond: string;
  readonly ratio: string;
  readonly goal: string;
  /** undefined: no goal on this row. */
  readonly met?: boolean;
}

export interface BuiltTable {
  readonly rows: readonly Row[];
  readonly converted: readonly ConvertedRate[];
  readonly slowest: ConvertedRate;
  readonly footnotes: readonly string[];
  readonly goalsMet: number;
  readonly goalsTotal: number;
}

const num = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;

export function buildTable(input: TableInput): BuiltTable {
  const rows: Row[] = [];
  const converted = input.raw.map((r) => convert(r, input.essaysPerBatch));
  const slow = slowest(converted);
  for (const c of converted) {
    rows.push({
      section: 'raw rate of a dependency, by its own tool',
      figure: c.label,
      value: `${num(c.rate)} ${c.unit}`,
      perSecond: `${num(c.assignmentsPerSecond)}${c.opsPerAssignment === 1 ? '' : ` (÷${+c.opsPerAssignment.toFixed(2)})`}`,
      ratio: '',
      goal: '',
    });
  }
  rows.push({
    section: 'raw rate of a dependency, by its own tool',
    figure: `slowest dependency: ${slow.dependency}`,
    value: '',
    perSecond: num(slow.assignmentsPerSecond),
    ratio: '1.00',
    goal: '',
  });
  for (const t of input.throughput) {
    const ratio = t.perSecond / slow.assignmentsPerSecond;
    const g = throughputGoal(ratio, input.goals.minRatio);
    rows.push({
      section: 'end-to-end saturation throughput',
      figure: t.label,
      value: t.note ?? '',
      perSecond: num(t.perSecond),
      ratio: ratio.toFixed(2),
      goal: `throughput ${g.text}`,
      met: g.met,
    });
  }
  for (const l of input.latency) {
    const section = 'assignment latency at half the saturation rate';
    const at = `${l.instances} instance${l.instances > 1 ? 's' : ''} @ ${num(l.rate)}/s`;
    if (l.coordinator) {
      const g = latencyGoal(l.coordinator.p99Ms, input.goals.maxP99Ms);
      rows.push({
        section,
        figure: `${at}: coordinator histogram p50 / p99`,
        value: `${fmtMs(l.coordinator.p50Ms)} / ${fmtMs(l.coordinator.p99Ms)}${l.note ? `\n${l.note}` : ''}`,
        perSecond: '',
        ratio: '',
        goal: `p99 ${g.text}`,
        met: g.met,
      });
    } else {
      rows.push({
        section,
        figure: `${at}: coordinator histogram`,
        value: 'n/a (no Prometheus)',
        perSecond: '',
        ratio: '',
        goal: '',
      });
    }
    const g = latencyGoal(l.e2e.p99Ms, input.goals.maxP99Ms);
    rows.push({
      section,
      figure: `${at}: publish → slot-assigned p50 / p99`,
      value: `${fmtMs(l.e2e.p50Ms)} / ${fmtMs(l.e2e.p99Ms)}${l.drainMs === undefined ? '' : `\nlast assigned ${fmtMs(l.drainMs)} after the last publish`}`,
      perSecond: '',
      ratio: '',
      goal: `p99 ${g.text}`,
      met: g.met,
    });
  }
  if (input.memory.length > 0) {
    const section = `memory per instance after the run (${input.memoryInstances} instance${input.memoryInstances > 1 ? 's' : ''})`;
    for (const m of input.memory) {
      rows.push({
        section,
        figure: `${m.essaysPerBatch} essays/batch: RSS max / mean`,
        value: `${mib(Math.max(...m.rssBytes))} / ${mib(mean(m.rssBytes))}`,
        perSecond: '',
        ratio: '',
        goal: '',
      });
      rows.push({
        section,
        figure: `${m.essaysPerBatch} essays/batch: heap used max / mean`,
        value: `${mib(Math.max(...m.heapUsedBytes))} / ${mib(mean(m.heapUsedBytes))}`,
        perSecond: '',
        ratio: '',
        goal: '',
      });
    }
    if (input.memory.length >= 2) {
      for (const [what, pick] of [
        ['RSS', (m: TableInput['memory'][number]) => Math.max(...m.rssBytes)],
        ['heap used', (m: TableInput['memory'][number]) => Math.max(...m.heapUsedBytes)],
      ] as const) {
        const g = flatnessGoal(input.memory.map(pick), input.goals.maxFlatness);
        rows.push({
          section,
          figure: `${what} (max per instance) across batch sizes`,
          value: input.memory.map((m) => mib(pick(m))).join(' · '),
          perSecond: '',
          ratio: '',
          goal: `flat ${g.text}`,
          met: g.met,
        });
      }
    }
  }
  const withGoal = rows.filter((r) => r.met !== undefined);
  const footnotes = [
    `assignments/s of a dependency = its raw rate ÷ its operations per assignment: Redis 1 assign-script call, ` +
      `Postgres 1 write transaction (the batch-closing statements included on every ${input.essaysPerBatch}th), ` +
      `Kafka ${+(2 + 2 / input.essaysPerBatch).toFixed(2)} messages produced (content in + slot-assigned out, ` +
      `+ registration in and batch-ready out per ${input.essaysPerBatch} essays).`,
    `ratio = our assignments/s ÷ the slowest dependency's (${slow.dependency}, ${num(slow.assignmentsPerSecond)}/s).`,
    `goals: throughput ≥ ${input.goals.minRatio * 100} % of the slowest dependency; p99 ≤ ${input.goals.maxP99Ms} ms at half ` +
      `the saturation rate (held to both the coordinator's histogram and the end-to-end figure); memory flat = ` +
      `largest ÷ smallest of the per-size maxima ≤ ${input.goals.maxFlatness}.`,
  ];
  return {
    rows,
    converted,
    slowest: slow,
    footnotes,
    goalsMet: withGoal.filter((r) => r.met).length,
    goalsTotal: withGoal.length,
  };
}

export function renderTable(t: BuiltTable): string {
  const table = new Table({
    head: ['figure', 'measured', 'assignments/s', 'ratio', 'goal'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [48, 25, 16, 7, 40],
  });
  let section = '';
  for (const r of t.rows) {
    if (r.section !== section) {
      section = r.section;
      table.push([{ colSpan: 5, content: section.toUpperCase() }]);
    }
    table.push([r.figure, r.value, r.perSecond, r.ratio, r.goal]);
  }
  return [
    table.toString(),
    ...t.footnotes.map((f, i) => `${'*'.repeat(i + 1)} ${f}`),
    `goals met: ${t.goalsMet} of ${t.goalsTotal}`,
  ].join('\n');
}
