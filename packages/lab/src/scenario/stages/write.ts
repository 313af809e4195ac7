/**
 * Stage 5 of a seed, write: the run folder — the plan, the history, the final read, the verdicts, the summary,
 * the group's offsets, the instances' metrics and log slices, the report's chart series, and the HTML report —
 * and the result lines printed after it. Only files; nothing here talks to a server.
 *
 * The report is rendered from the folder once everything else is in it ({@link writeSeedReport}, which
 * `lab report` calls too): a page rebuilt later from the same folder is the same page.
 */
import { copyFile, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatVerdictTable, historyToJSONL } from '@chaos-lab/model';
import type { ReportInput } from '@chaos-lab/report';
import {
  faultsFromHistory,
  logLinks,
  timelineFromHistory,
  verdictRows,
  writeRunReport,
} from '../../report/run-report.js';
import type { collectCharts } from '../../report/run-report.js';
import { CHARTS, readSeedFolder, type ReportFields, type SavedSeed, type SeedReportSource } from '../seed-folder.js';
import type { CoordinatorInstances } from '../../instances/instances.js';
import type { PlannedFault } from '../../nemesis/index.js';
import type { OnlineFinding } from '../online-monitor.js';
import type { OffsetSnapshot } from '../offsets.js';
import { logDigest, offsetLines } from '../evidence.js';
import type { WaitOutcome } from './observe.js';
import type { SeedPlan } from './plan.js';

/** `plan.json`: the workload and its faults. */
export async function writePlan(seedDir: string, { plan, faults }: Pick<SeedPlan, 'plan' | 'faults'>): Promise<void> {
  await writeFile(join(seedDir, 'plan.json'), JSON.stringify({ ...plan, faults }, null, 1));
}

/** Each instance's metrics at the end of the seed (cumulative over the session): `logs/<id>.metrics.txt`. */
export async function writeMetrics(seedDir: string, instances: CoordinatorInstances): Promise<void> {
  await Promise.all(
    instances.all.map(async (x) =>
      writeFile(
        join(seedDir, 'logs', `${x.id}.metrics.txt`),
        await x.metrics().catch((e: Error) => `# unavailable: ${e.message}\n`),
      ),
    ),
  );
}

/** Where the coordinators' group stands on the input partitions, or why that could not be read. */
export type GroupProgress = readonly Parameters<typeof offsetLines>[0][number][] | { readonly unavailable: string };

export async function writeKafkaOffsets(seedDir: string, progressOfGroup: GroupProgress): Promise<void> {
  await writeFile(join(seedDir, 'kafka-offsets.json'), JSON.stringify(progressOfGroup, null, 1));
}

/** Everything a seed's record holds: what the artefacts and the result lines are written from. */
export interface SeedRecord extends Omit<SeedReportSource, 'wait' | 'online' | 'faults' | 'charts' | 'finalReadAtMs'> {
  readonly wait: WaitOutcome;
  readonly final: unknown;
  readonly online: readonly OnlineFinding[];
  readonly faults: readonly PlannedFault[];
  readonly sessionLogs: string;
  readonly outputsOfOtherSeedsSkipped: number;
  readonly charts: Awaited<ReturnType<typeof collectCharts>>;
}

/**
 * `history.jsonl`, `final-state.json`, `verdicts.json`, `summary.json` (its `report` block: what the page shows
 * beyond the stats) and `charts.json` (the page's Prometheus series: the environment's Prometheus is gone after
 * the run).
 */
export async function writeArtefacts(r: SeedRecord): Promise<void> {
  const { seedDir } = r;
  await writeFile(join(seedDir, 'history.jsonl'), historyToJSONL(r.history));
  await writeFile(join(seedDir, 'final-state.json'), JSON.stringify(r.final, null, 1));
  await writeFile(join(seedDir, 'verdicts.json'), JSON.stringify(r.verdicts, null, 2));
  const summary = {
    runId: r.runId,
    scenario: r.scenario,
    variant: r.variant ?? null,
    valid: r.valid,
    stats: r.stats,
    sessionLogs: r.sessionLogs,
    outputsOfOtherSeedsSkipped: r.outputsOfOtherSeedsSkipped,
    brokerLostAcknowledgedPublishes: r.brokerLost,
    replay: r.replayCommand,
    report: {
      instances: r.instances,
      settledContents: r.settledContents,
      wait: r.wait,
      recorderEpoch: r.recorderEpoch,
      workStartEpoch: r.workStartEpoch,
      endedEpoch: r.endedEpoch,
    } satisfies ReportFields,
  };
  await writeFile(join(seedDir, 'summary.json'), JSON.stringify(summary, null, 2));
  await writeFile(join(seedDir, CHARTS), JSON.stringify(r.charts));
}

/** The report's key facts, in order. */
export function reportFacts(
  r: Pick<
    SeedReportSource,
    | 'scenario'
    | 'seed'
    | 'variant'
    | 'instances'
    | 'faults'
    | 'stats'
    | 'settledContents'
    | 'wait'
    | 'brokerLost'
    | 'online'
  >,
): { label: string; value: string }[] {
  const { stats, wait } = r;
  return [
    { label: 'scenario', value: r.scenario },
    { label: 'seed', value: String(r.seed) },
    ...(r.variant ? [{ label: 'variant', value: r.variant }] : []),
    { label: 'instances', value: String(r.instances) },
    { label: 'faults', value: String(r.faults.length) },
    { label: 'publishes', value: String(stats.published) },
    { label: 'contents settled', value: `${r.settledContents} of ${stats.contents}` },
    { label: 'throughput', value: `${stats.contentsPerSecond} contents/s` },
    { label: 'workload', value: `${(stats.workloadMs / 1000).toFixed(1)} s` },
    ...(wait.timedOut
      ? [{ label: 'gave up waiting', value: wait.broke ? 'environment broke' : wait.stalled ? 'stalled' : 'timeout' }]
      : []),
    ...(r.brokerLost.length > 0
      ? [{ label: 'acknowledged publishes not in their topic', value: String(r.brokerLost.length) }]
      : []),
    ...r.online.map((f) => ({
      label: `seen online: ${f.checker}`,
      value: `at +${(f.detectedMs / 1000).toFixed(1)} s, ${((f.detectedMs - f.effectMs) / 1000).toFixed(1)} s after it happened`,
    })),
  ];
}

/** The page of a seed, from what its folder holds. */
export async function seedReportInput(r: SeedReportSource): Promise<ReportInput> {
  const startedAt = r.workStartEpoch;
  const endedAt = Math.max(r.workStartEpoch, r.endedEpoch);
  return {
    kind: 'chaos',
    title: `${r.scenario} — seed ${r.seed}${r.variant ? ` — variant ${r.variant}` : ''}`,
    runId: `${r.runId}/seed-${r.seed}`,
    startedAt,
    endedAt,
    outcome: r.valid ? 'valid' : 'invalid',
    ...(r.replayCommand !== undefined && { replayCommand: r.replayCommand }),
    facts: reportFacts(r),
    faults: faultsFromHistory(r.history, r.recorderEpoch),
    timeline: timelineFromHistory(r.history, r.recorderEpoch, { startedAt, endedAt }),
    charts: [...r.charts],
    verdicts: verdictRows([...r.verdicts], {
      epochStartMs: r.recorderEpoch,
      final: r.finalReadAtMs === undefined ? {} : { readAtMs: r.finalReadAtMs },
      online: r.online,
    }),
    logs: await logLinks(r.seedDir, join(r.seedDir, 'logs')),
  };
}

/**
 * `report.html` of a seed folder, rendered from the folder alone (the run writes it so, once the rest is on disk;
 * `lab report` rebuilds it so). Returns its path and what the folder lacked ({@link SavedSeed.gaps}).
 */
export async function writeSeedReport(seedDir: string): Promise<{ path: string; gaps: SavedSeed['gaps'] }> {
  const saved = await readSeedFolder(seedDir);
  return { path: await writeRunReport(seedDir, await seedReportInput(saved)), gaps: saved.gaps };
}

/** `report.html` at the end of a run; undefined (and said) when it could not be written. */
export async function writeReport(seedDir: string, progress: (line: string) => void): Promise<string | undefined> {
  return writeSeedReport(seedDir).then(
    (r) => r.path,
    (err: Error) => {
      progress(`lab: the run report could not be written: ${err.message}`);
      return undefined;
    },
  );
}

/** Why a seed that gave up waiting gave up, in a line. */
export function waitLine(wait: WaitOutcome, stallTimeoutMs: number, timeoutMs: number): string | undefined {
  if (!wait.timedOut) return undefined;
  if (wait.broke) return 'stopped waiting for the pipeline: the environment broke';
  return wait.stalled
    ? `pipeline stopped making progress: nothing settled for ${stallTimeoutMs} ms`
    : `pipeline did not finish within ${timeoutMs} ms`;
}

/** The result lines printed after a seed: the verdict table, and for an invalid seed the evidence in short. */
export async function resultLines(
  r: SeedRecord,
  o: {
    waitLine: string | undefined;
    progressOfGroup: GroupProgress;
    inputStart: OffsetSnapshot;
    opened: boolean;
    reportPath: string | undefined;
  },
): Promise<string[]> {
  const { stats } = r;
  const lines = [
    '',
    `${r.scenario} (seed ${r.seed}): ${r.valid ? 'VALID' : 'INVALID'}`,
    formatVerdictTable([...r.verdicts]),
  ];
  if (o.waitLine !== undefined) lines.push(o.waitLine);
  if (!r.valid) {
    // What outlives a CI machine is its output: the group's offsets and the instances' complaints, in short.
    lines.push("where the coordinators' group stands on the input partitions the seed used:");
    if (Array.isArray(o.progressOfGroup)) lines.push(...offsetLines(o.progressOfGroup, o.inputStart));
    else lines.push(`  unreadable: ${(o.progressOfGroup as { unavailable: string }).unavailable}`);
    lines.push('warnings and errors in the instance logs of this seed:');
    lines.push(...(await logDigest(join(r.seedDir, 'logs'))));
  }
  lines.push(
    `wall ${(stats.wallMs / 1000).toFixed(1)} s · environment ${o.opened ? `${stats.environmentStartupMs} ms` : 'reused'} · group ready ${stats.instancesReadyMs} ms · workload ${(stats.workloadMs / 1000).toFixed(1)} s · ${stats.contentsPerSecond} contents/s`,
  );
  lines.push(`run folder: ${r.seedDir}`);
  if (o.reportPath) lines.push(`report: ${o.reportPath}`);
  if (r.replayCommand) lines.push(`replay: ${r.replayCommand}`);
  return lines;
}

/** Size of every file in a log folder, to cut out what one seed appended. */
export async function logSizes(dir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const st = await stat(join(dir, f)).catch(() => undefined);
    if (st?.isFile()) sizes.set(f, st.size);
  }
  return sizes;
}

/** Copies what each log file gained since `marks` into `to` (a whole file when it is new). */
export async function copyLogSlices(dir: string, marks: Map<string, number>, to: string): Promise<void> {
  for (const [f, size] of await logSizes(dir)) {
    const from = marks.get(f) ?? 0;
    if (from === 0) {
      await copyFile(join(dir, f), join(to, f));
      continue;
    }
    if (size <= from) continue;
    const fh = await open(join(dir, f), 'r');
    try {
      const buf = Buffer.alloc(size - from);
      await fh.read(buf, 0, buf.length, from);
      await writeFile(join(to, f), buf);
    } finally {
      await fh.close();
    }
  }
}
