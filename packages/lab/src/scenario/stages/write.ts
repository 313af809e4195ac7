/**
 * Stage 5 of a seed, write: the run folder — the plan, the history, the final read, the verdicts, the summary,
 * the group's offsets, the instances' metrics and log slices, and the HTML report — and the result lines printed
 * after it. Only files; nothing here talks to a server.
 */
import { copyFile, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatVerdictTable, historyToJSONL, type FinalState, type HistoryEntry, type Verdict } from '@chaos-lab/model';
import {
  faultsFromHistory,
  logLinks,
  timelineFromHistory,
  verdictRows,
  writeRunReport,
} from '../../report/run-report.js';
import type { collectCharts } from '../../report/run-report.js';
import type { CoordinatorInstances } from '../../instances/instances.js';
import type { PlannedFault } from '../../nemesis/index.js';
import type { OnlineFinding } from '../online-monitor.js';
import type { RunStats } from '../run-types.js';
import type { OffsetSnapshot } from '../offsets.js';
import { logDigest, offsetLines } from '../evidence.js';
import type { LostPublish, WaitOutcome } from './observe.js';
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

/** Everything a seed's record holds: what the artefacts, the report and the result lines are written from. */
export interface SeedRecord {
  readonly runId: string;
  readonly scenario: string;
  readonly seed: number;
  readonly variant: string | undefined;
  readonly replayCommand: string | undefined;
  readonly seedDir: string;
  readonly valid: boolean;
  readonly stats: RunStats;
  readonly wait: WaitOutcome;
  readonly history: readonly HistoryEntry[];
  readonly final: unknown;
  readonly verdicts: readonly Verdict[];
  readonly brokerLost: readonly LostPublish[];
  readonly online: readonly OnlineFinding[];
  readonly settledContents: number;
  readonly instances: number;
  readonly faults: readonly PlannedFault[];
  readonly sessionLogs: string;
  readonly outputsOfOtherSeedsSkipped: number;
  readonly recorderEpoch: number;
  readonly workStartEpoch: number;
  readonly charts: Awaited<ReturnType<typeof collectCharts>>;
}

/** `history.jsonl`, `final-state.json`, `verdicts.json` and `summary.json`. */
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
  };
  await writeFile(join(seedDir, 'summary.json'), JSON.stringify(summary, null, 2));
}

/** The report's key facts, in order. */
export function reportFacts(r: SeedRecord): { label: string; value: string }[] {
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

/** `report.html`; undefined (and said) when it could not be written. */
export async function writeReport(r: SeedRecord, progress: (line: string) => void): Promise<string | undefined> {
  const startedAt = r.workStartEpoch;
  const endedAt = Math.max(r.workStartEpoch, Date.now());
  return writeRunReport(r.seedDir, {
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
    charts: r.charts,
    verdicts: verdictRows([...r.verdicts], {
      epochStartMs: r.recorderEpoch,
      final: readAtOf(r.final),
      online: r.online,
    }),
    logs: await logLinks(r.seedDir, join(r.seedDir, 'logs')),
  }).catch((err: Error) => {
    progress(`lab: the run report could not be written: ${err.message}`);
    return undefined;
  });
}

/** The final read's history time, when the record's final read has one. */
function readAtOf(final: unknown): Pick<FinalState, 'readAtMs'> {
  const at = (final as { readAtMs?: unknown } | null | undefined)?.readAtMs;
  return typeof at === 'number' ? { readAtMs: at } : {};
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
