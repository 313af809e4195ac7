/**
 * A load run on the local environment: the whole pipeline (ingest in front of
 * N coordinators, Redis, Postgres, Kafka, Prometheus) takes a load profile
 * from the embedded open-model driver, which remote-writes its k6-named
 * metrics into the environment's Prometheus as k6 would. Then every batch the
 * requests completed must close with a ready event — a load run that loses
 * work has failed whatever its latencies — and the run ends with k6's
 * end-of-test summary, the threshold verdicts and the run report.
 *
 * Everything goes to `runs/<runId>/`: the driver's result, the logs, the
 * report.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ASSIGNMENT_LATENCY,
  CONSUMER_LAG,
  COORDINATOR_THROUGHPUT,
  collectCharts,
  defaultRunsDir,
  faultsFromHistory,
  logLinks,
  runNemesis,
  startPipelineStack,
  type ChartQuery,
  type PlannedFault,
  type StartedPipelineStack,
} from '@chaos-lab/lab';
import { HistoryRecorder } from '@chaos-lab/model';
import {
  formatSummary,
  loadProfile,
  runDriver,
  type DriverResult,
  type MetricSummary,
  type Profile,
} from '@chaos-lab/load';
import { writeReport, type ReportInput } from '@chaos-lab/report';

/** The profiles shipped with `@chaos-lab/load` (`smoke`, `steady`, `ramp`). */
export const PROFILES_DIR = fileURLToPath(new URL('../profiles/', import.meta.resolve('@chaos-lab/load')));

/** A profile by name (from {@link PROFILES_DIR}) or by path. */
export async function resolveProfile(nameOrPath: string): Promise<Profile> {
  const path = /[/\\]|\.json$/.test(nameOrPath) ? resolve(nameOrPath) : join(PROFILES_DIR, `${nameOrPath}.json`);
  return loadProfile(path);
}

export interface LoadRunOptions {
  readonly profile: Profile;
  /** Coordinator instances. Default 3. */
  readonly instances?: number;
  /** Where the run folder goes. Default: the lab's runs folder (`LAB_RUNS_DIR`, else `runs/` at the repository root). */
  readonly runsDir?: string;
  /** Faults to inject during the load (times from the load's start); coordinators then go through the fault proxy. */
  readonly faults?: readonly PlannedFault[];
  /** How long to wait after the load for the owed ready events. Default 60 000 ms. */
  readonly drainTimeoutMs?: number;
  /** Called with the stack still up after the run (e.g. to query its Prometheus). */
  readonly beforeStop?: (stack: StartedPipelineStack, result: LoadRunResult) => Promise<void>;
  readonly out?: (line: string) => void;
  readonly progress?: (line: string) => void;
}

export interface LoadRunResult {
  readonly runId: string;
  readonly runDir: string;
  readonly driver: DriverResult;
  /** k6's end-of-test summary text. */
  readonly summary: string;
  /** Batches the requests completed (registered, every essay uploaded, no failed request). */
  readonly owed: number;
  /** Of those, the ones that closed with a ready event. */
  readonly ready: number;
  /** Owed batches that did not close in time, or closed as timed out. */
  readonly missing: readonly string[];
  /** Seconds from a batch's last request to its ready event, p50 / p99 / max over the owed batches. */
  readonly readyLatencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Thresholds held and every owed batch closed ready. */
  readonly passed: boolean;
  readonly reportPath: string;
}

const W = '5s';

/** What a load run's page plots: the load as the driver saw it, and the pipeline behind it. */
export function loadCharts(testid: string): ChartQuery[] {
  const k6 = `testid="${testid}"`;
  return [
    {
      id: 'requests',
      title: 'HTTP requests per second (driver), by request',
      unit: 'ops/s',
      queries: [
        { expr: `sum by (name) (rate(k6_http_reqs_total{${k6}}[${W}]))`, name: (m) => m.name ?? 'all' },
        { expr: `sum(rate(k6_dropped_iterations_total{${k6}}[${W}]))`, name: () => 'dropped iterations' },
      ],
    },
    {
      id: 'http-latency',
      title: 'HTTP request duration (driver, cumulative over the run)',
      unit: 'ms',
      scale: 1000,
      queries: ['p50', 'p95', 'p99'].map((stat) => ({
        expr: `max(k6_http_req_duration_${stat}{${k6}})`,
        name: () => stat,
      })),
    },
    {
      ...COORDINATOR_THROUGHPUT,
      id: 'pipeline-throughput',
      title: 'Coordinator input events handled per second, by instance',
    },
    {
      ...ASSIGNMENT_LATENCY,
      id: 'assignment-latency',
      title: 'Assignment latency (coordinator, time to settle one content event)',
    },
    CONSUMER_LAG,
  ];
}

function countOf(m: MetricSummary): number {
  return m.type === 'counter' || m.type === 'trend' ? m.count : 0;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
}

export async function runLoad(opts: LoadRunOptions): Promise<LoadRunResult> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const progress = opts.progress ?? ((l: string) => process.stderr.write(l + '\n'));
  const { profile } = opts;
  const runId = `load-${profile.name}-${stamp()}`;
  const runDir = resolve(opts.runsDir ?? defaultRunsDir(), runId);
  const logDir = join(runDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const faults = opts.faults ?? [];
  const stack = await startPipelineStack({
    logDir,
    coordinators: opts.instances ?? 3,
    throughFaultProxy: faults.length > 0,
    progress,
  });
  try {
    const recorder = new HistoryRecorder();
    const recorderEpoch = Date.now();
    const abort = new AbortController();
    const nemesis =
      faults.length > 0
        ? runNemesis(faults, stack.nemesisContext, recorder, {
            t0: performance.now(),
            signal: abort.signal,
            progress,
            onFault: (f, active) => stack.labMetrics.fault(f, active),
          })
        : Promise.resolve();
    const lastRequestAt = new Map<string, number>();
    const startedAt = Date.now();
    progress(`lab: ${runId}: driving profile ${profile.name} against ${stack.ingestUrl}`);
    const driver = await runDriver({
      baseUrl: stack.ingestUrl,
      profile,
      runId,
      remoteWriteUrl: stack.env.prometheus?.remoteWriteUrl,
      progress,
      hooks: {
        onResponse: (e) => {
          if (e.request.batchId) lastRequestAt.set(e.request.batchId, Date.now());
        },
      },
    });
    abort.abort();
    await nemesis;
    if (faults.length > 0) await stack.env.links.reset();

    const owed = driver.batches.filter((b) => b.complete && b.failedRequests === 0).map((b) => b.batchId);
    progress(`lab: load done; waiting for the ready events of ${owed.length} completed batches`);
    const open = await stack.waitClosed(owed, opts.drainTimeoutMs ?? 60_000, (n) =>
      progress(`lab: ${n}/${owed.length} batches closed`),
    );
    const ready = owed.filter((b) => stack.closed.get(b)?.status === 'ready');
    const missing = owed.filter((b) => stack.closed.get(b)?.status !== 'ready');
    const latencies = ready
      .map((b) => stack.closed.get(b)!.seenAt - (lastRequestAt.get(b) ?? stack.closed.get(b)!.seenAt))
      .sort((a, b) => a - b);
    const readyLatencyMs = {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies.at(-1) ?? 0,
    };
    const summary = formatSummary({
      metrics: driver.metrics,
      submetrics: driver.submetrics,
      thresholds: driver.thresholds,
      durationMs: driver.durationMs,
      profile: profile.name,
      runId,
    });
    const passed = driver.thresholds.ok && missing.length === 0 && !driver.aborted;
    const endedAt = Date.now();
    // One more scrape, so the last counts are in the charts.
    const scrapeMs = stack.env.prometheus?.scrapeIntervalMs ?? 0;
    await new Promise((r) => setTimeout(r, scrapeMs * 1.5));
    const charts = await collectCharts(stack.env.prometheus, loadCharts(runId), startedAt, endedAt + scrapeMs);
    const pipelineLine =
      `pipeline: ${ready.length}/${owed.length} completed batches ready` +
      (open.length > 0 ? `, ${open.length} not closed after the drain timeout` : '') +
      (missing.length > open.length ? `, ${missing.length - open.length} closed as timed out` : '') +
      ` · batch ready ${readyLatencyMs.p50} ms p50, ${readyLatencyMs.p99} ms p99 after its last request`;
    const input: ReportInput = {
      kind: 'load',
      title: `load — ${profile.name}`,
      runId,
      startedAt,
      endedAt,
      outcome: passed ? 'passed' : 'failed',
      replayCommand: `LAB_LOAD_PROFILE=${profile.name} npx turbo run load`,
      facts: [
        { label: 'profile', value: profile.name },
        { label: 'executor', value: profile.arrival.executor },
        { label: 'coordinators', value: String(opts.instances ?? 3) },
        { label: 'requests', value: String(countOf(driver.metrics.http_reqs)) },
        { label: 'achieved rate', value: `${driver.schedule.achievedRate.toFixed(1)} it/s` },
        { label: 'target rate', value: `${driver.schedule.targetRate.toFixed(1)} it/s` },
        { label: 'dropped iterations', value: String(driver.schedule.droppedIterations) },
        { label: 'batches ready', value: `${ready.length} of ${owed.length}` },
        { label: 'batch ready p50 / p99', value: `${readyLatencyMs.p50} / ${readyLatencyMs.p99} ms` },
        { label: 'faults', value: String(faults.length) },
      ],
      faults: faultsFromHistory(recorder.entries, recorderEpoch),
      charts,
      verdicts: [
        {
          checker: 'every-owed-batch-ready',
          valid: missing.length === 0,
          summary: pipelineLine.replace(/^pipeline: /, ''),
          counterexamples: missing.slice(0, 5).map((b) => ({ batch: b, closed: stack.closed.get(b) ?? null })),
        },
      ],
      thresholds: driver.thresholds.results.map((r) => ({
        metric: r.key,
        expression: r.expression,
        ok: r.ok,
        actual: r.actual === undefined ? 'no samples' : String(Math.round(r.actual * 1000) / 1000),
      })),
      textSummary: summary,
      logs: await logLinks(runDir, logDir),
    };
    await writeFile(join(runDir, 'driver-result.json'), JSON.stringify(driver, null, 1));
    const reportPath = await writeReport(runDir, input);
    out(summary);
    out(pipelineLine);
    out(`load ${profile.name}: ${passed ? 'PASSED' : 'FAILED'}`);
    out(`run folder: ${runDir}`);
    out(`report: ${reportPath}`);
    const result: LoadRunResult = {
      runId,
      runDir,
      driver,
      summary,
      owed: owed.length,
      ready: ready.length,
      missing,
      readyLatencyMs,
      passed,
      reportPath,
    };
    await opts.beforeStop?.(stack, result);
    return result;
  } finally {
    await stack.stop();
  }
}
