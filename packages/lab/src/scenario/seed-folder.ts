/**
 * A seed's folder read back: what `lab report` rebuilds the page from, what `lab replay` replays, and — so
 * that the two never drift apart — what the run itself renders its report from once it has written the
 * folder. No server is asked anything: the folder is the whole record.
 *
 * A folder written before the report's own data was saved (`summary.json`'s `report` block, `charts.json`)
 * still gives a page: the facts are derived from the history and the logs, the times from the files' own
 * times, and the charts say they were not saved. {@link SavedSeed.gaps} names each such estimate.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Chart } from '@chaos-lab/report';
import { readHistory, type AssignmentPlan, type HistoryEntry, type Verdict } from '@chaos-lab/model';
import { LabError } from '../errors.js';
import { readJson } from './read-json.js';
import { CHAOS_CHARTS } from '../report/run-report.js';
import type { OnlineFinding } from './online-monitor.js';
import type { RunStats } from './run-types.js';
import { CompletionTracker } from './stages/completion.js';
import { ENVIRONMENT_HELD } from './stages/judge.js';
import type { LostPublish, WaitOutcome } from './stages/observe.js';

export const SUMMARY = 'summary.json';
export const CHARTS = 'charts.json';
export const PLAN = 'plan.json';

/** What the report shows beyond the stats: `summary.json`'s `report` block. */
export interface ReportFields {
  readonly instances: number;
  readonly settledContents: number;
  readonly wait: WaitOutcome;
  /** When the history's clock started (its times count from here), epoch ms. */
  readonly recorderEpoch: number;
  /** When the work (the first publish, the nemesis' clock) started, epoch ms: the page's start. */
  readonly workStartEpoch: number;
  /** When the seed's record was complete, epoch ms: the page's end. */
  readonly endedEpoch: number;
}

/** Everything a seed's report is made from, as its folder holds it. */
export interface SeedReportSource extends ReportFields {
  readonly runId: string;
  readonly scenario: string;
  readonly seed: number;
  readonly variant: string | undefined;
  readonly replayCommand: string | undefined;
  readonly seedDir: string;
  readonly valid: boolean;
  readonly stats: RunStats;
  readonly history: readonly HistoryEntry[];
  readonly verdicts: readonly Verdict[];
  readonly brokerLost: readonly LostPublish[];
  readonly online: readonly Omit<OnlineFinding, 'error'>[];
  /** The planned faults (the page counts them). */
  readonly faults: readonly unknown[];
  readonly charts: readonly Chart[];
  /** When the final read of the stores was taken (history ms): Postgres-found violations are dated from it. */
  readonly finalReadAtMs: number | undefined;
}

export interface SavedSeed extends SeedReportSource {
  /** What this folder did not save and was estimated or left out (empty for a folder of this version). */
  readonly gaps: readonly string[];
}

const waitSchema = z.strictObject({ timedOut: z.boolean(), stalled: z.boolean(), broke: z.boolean() });
const epoch = z.number().nonnegative();

const reportFieldsSchema = z.strictObject({
  instances: z.number().int().nonnegative(),
  settledContents: z.number().int().nonnegative(),
  wait: waitSchema,
  recorderEpoch: epoch,
  workStartEpoch: epoch,
  endedEpoch: epoch,
});

/** `summary.json` as read back: what the page and a replay need is checked, the rest kept as it is. */
const summarySchema = z.looseObject({
  runId: z.string().min(1),
  scenario: z.string().min(1),
  variant: z.string().nullable(),
  valid: z.boolean(),
  stats: z.looseObject({
    seed: z.number().int().nonnegative(),
    published: z.number(),
    contents: z.number(),
    contentsPerSecond: z.number(),
    workloadMs: z.number(),
    timedOut: z.boolean(),
    stalled: z.boolean(),
  }),
  brokerLostAcknowledgedPublishes: z.array(z.looseObject({ index: z.number() })).optional(),
  replay: z.string().optional(),
  report: reportFieldsSchema.optional(),
});

export type SeedSummary = z.infer<typeof summarySchema>;

const verdictsSchema = z.array(
  z.looseObject({
    checker: z.string().min(1),
    valid: z.union([z.boolean(), z.literal('unknown')]),
    errorCount: z.number(),
    errors: z.array(z.looseObject({ message: z.string() })),
  }),
);

const chartsSchema = z.array(
  z.looseObject({ id: z.string(), title: z.string(), unit: z.string(), series: z.array(z.unknown()) }),
);

/** `plan.json`: the workload's plan and its faults (checked only as far as the page counts them). */
const planSchema = z.looseObject({ publishes: z.array(z.unknown()), faults: z.array(z.unknown()) });

/** Whether `dir` is a seed's folder (it holds a `summary.json`). */
export async function isSeedFolder(dir: string): Promise<boolean> {
  return stat(join(dir, SUMMARY)).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** A seed folder's `summary.json`: its suite, seed, variant, verdict and replay command. */
export async function readSeedSummary(seedDir: string): Promise<SeedSummary> {
  return readJson(join(seedDir, SUMMARY), summarySchema, 'the summary.json of a seed folder written by lab run');
}

/** A seed folder's `verdicts.json`. */
export async function readSeedVerdicts(seedDir: string): Promise<Verdict[]> {
  const verdicts = await readJson(join(seedDir, 'verdicts.json'), verdictsSchema, "a seed's verdicts");
  return verdicts as unknown as Verdict[];
}

/** Everything the report of a seed shows, from its folder; what an older folder lacks is estimated and named. */
export async function readSeedFolder(seedDir: string): Promise<SavedSeed> {
  const summary = await readSeedSummary(seedDir);
  const verdicts = await readSeedVerdicts(seedDir);
  const plan = await readJson(join(seedDir, PLAN), planSchema, "the seed's plan");
  let history: HistoryEntry[];
  try {
    history = readHistory(await readFile(join(seedDir, 'history.jsonl'), 'utf8'));
  } catch (err) {
    throw new LabError(`${join(seedDir, 'history.jsonl')}: ${(err as Error).message}`, { cause: err });
  }
  const stats = summary.stats as unknown as RunStats;
  const gaps: string[] = [];
  const charts = await readChartsOrSay(seedDir, gaps);
  const report =
    summary.report ??
    (await estimateReportFields(seedDir, summary, plan as unknown as AssignmentPlan, verdicts, history, gaps));
  return {
    runId: summary.runId,
    scenario: summary.scenario,
    seed: stats.seed,
    variant: summary.variant ?? undefined,
    replayCommand: summary.replay,
    seedDir,
    valid: summary.valid,
    stats,
    history,
    verdicts,
    brokerLost: (summary.brokerLostAcknowledgedPublishes ?? []) as unknown as LostPublish[],
    online: stats.online ?? [],
    faults: plan.faults,
    charts,
    finalReadAtMs: await readFinalReadAt(seedDir),
    ...report,
    gaps,
  };
}

/** `final-state.json`'s `readAtMs`, when the folder has one (older runs did not save it). */
async function readFinalReadAt(seedDir: string): Promise<number | undefined> {
  const text = await readFile(join(seedDir, 'final-state.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const at = (JSON.parse(text) as { readAtMs?: unknown } | null)?.readAtMs;
    return typeof at === 'number' ? at : undefined;
  } catch {
    return undefined;
  }
}

async function readChartsOrSay(seedDir: string, gaps: string[]): Promise<Chart[]> {
  const file = join(seedDir, CHARTS);
  const saved = await stat(file).then(
    () => true,
    () => false,
  );
  if (saved) return (await readJson(file, chartsSchema, "the report's chart series")) as unknown as Chart[];
  gaps.push(`no ${CHARTS} (the run predates it): the page has no Prometheus charts`);
  return CHAOS_CHARTS.map((c) => ({
    id: c.id,
    title: c.title,
    unit: c.unit,
    series: [],
    note: [
      `not saved: this run folder predates ${CHARTS}, so its Prometheus series are gone`,
      ...c.queries.map((q) => q.expr),
    ].join('\n'),
  }));
}

/**
 * The report's fields of a folder written before they were saved: the instances from their metrics files, the
 * settled contents from the history (as the run's completion tracker counted them), the history's start from
 * when `plan.json` was written (just before it), the work's start from the first publish, the end from when
 * `summary.json` was written. A copy that did not keep the files' times gets the copy's times.
 */
async function estimateReportFields(
  seedDir: string,
  summary: SeedSummary,
  plan: AssignmentPlan,
  verdicts: readonly Verdict[],
  history: readonly HistoryEntry[],
  gaps: string[],
): Promise<ReportFields> {
  gaps.push(`no report block in ${SUMMARY}: its times are estimated from the files' times`);
  const logs = await readdir(join(seedDir, 'logs')).catch(() => [] as string[]);
  const tracker = new CompletionTracker(plan);
  for (const e of history) if (e.type === 'observe' && e.event) tracker.onEvent(e.event);
  const recorderEpoch = Math.round((await stat(join(seedDir, PLAN))).mtimeMs);
  const firstPublish = history.find((e) => e.type === 'invoke')?.time ?? 0;
  const { timedOut, stalled } = summary.stats;
  const broke = verdicts.some((v) => v.checker === ENVIRONMENT_HELD && v.valid === false);
  const workStartEpoch = recorderEpoch + Math.round(firstPublish);
  return {
    instances: logs.filter((f) => f.endsWith('.metrics.txt')).length,
    settledContents: tracker.settled.size,
    wait: { timedOut, stalled, broke: timedOut && !stalled && broke },
    recorderEpoch,
    workStartEpoch,
    endedEpoch: Math.max(workStartEpoch, Math.round((await stat(join(seedDir, SUMMARY))).mtimeMs)),
  };
}
