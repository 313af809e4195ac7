/**
 * The embedded load driver: k6's arrival-rate executors (an open model) in Node.
 *
 * Iterations start on the profile's schedule whatever the response times. Each needs a free VU (a slot
 * for one iteration at a time): the pool starts with `preAllocatedVUs` and grows up to `maxVUs`; when
 * every VU is busy and the pool is at `maxVUs`, the iteration is dropped and counted in
 * `dropped_iterations`, never queued — queueing would turn the open model into a closed one and hide the
 * service's slowness from the latency figures (coordinated omission). k6 drops the iteration that
 * finds no free VU while it initialises a new one in the background (a k6 VU is a whole JavaScript
 * runtime); here a VU costs nothing to create, so the pool grows on the spot and only an iteration that
 * finds the pool at `maxVUs` is dropped.
 *
 * One iteration is one request of the plan (plan.ts); a dropped iteration takes no plan index, so what
 * a run issues is the prefix 0..n-1 of the plan, as under k6 (`exec.scenario.iterationInTest`).
 * After the schedule ends, running iterations get `gracefulStopMs` to finish (k6's gracefulStop), then
 * are interrupted. The driver knows nothing of the lab: it takes a base URL and reports through hooks.
 */
import { setMaxListeners } from 'node:events';
import { Collector, isFailedStatus } from './collector.js';
import type { BuiltinMetric, MetricSummary } from './metrics.js';
import { PlanLedger, RequestPlan, toHttp, type BatchExpectation, type PlannedRequest } from './plan.js';
import { arrivalDurationMs, type Profile } from './profile.js';
import { k6Series, pushSeries } from './remote-write.js';
import { ArrivalSchedule } from './schedule.js';
import { formatDuration } from './duration.js';
import { evaluateThresholds, parseThresholds, type ThresholdReport } from './thresholds.js';
import { createTransport, type ClientKind } from './transport.js';
import { TrendBuffer, percentile, summarize } from './metrics.js';
import { LoadError } from './errors.js';

export interface ResponseEvent {
  readonly request: PlannedRequest;
  /** HTTP status; 0 when no response came (network error or timeout). */
  readonly status: number;
  readonly body: string;
  readonly durationMs: number;
  /** Wall-clock start of the request (epoch milliseconds). */
  readonly startedAt: number;
  readonly error?: Error | undefined;
}

export interface DriverHooks {
  /** Called when an iteration takes its request, before it is sent. */
  onRequest?(request: PlannedRequest): void;
  /** Called for every completed request (not for interrupted ones). */
  onResponse?(event: ResponseEvent): void;
}

export interface DriverOptions {
  /** The ingest service, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string | URL;
  readonly profile: Profile;
  /** Unique per run: the `testid` label of remote-written series and, by default, the batch id prefix. */
  readonly runId: string;
  /** Default: `profile.seed`. */
  readonly seed?: number | undefined;
  /** Default: `runId`. Must match the batch id pattern. */
  readonly batchPrefix?: string | undefined;
  /** Default: the plan's default (4). */
  readonly openBatches?: number | undefined;
  /** Prometheus remote-write URL, e.g. `http://127.0.0.1:9090/api/v1/write`. Default: none. */
  readonly remoteWriteUrl?: string | undefined;
  /** Default 1000. */
  readonly remoteWriteIntervalMs?: number | undefined;
  /** Aborting stops the schedule and interrupts running iterations; the result has `aborted: true`. */
  readonly signal?: AbortSignal | undefined;
  readonly hooks?: DriverHooks | undefined;
  /** Where progress lines go; `false` for none. Default: stderr. */
  readonly progress?: ((line: string) => void) | false | undefined;
  /** Default 5000. */
  readonly progressIntervalMs?: number | undefined;
  /** Default `'http'` (node:http with keep-alive). */
  readonly client?: ClientKind | undefined;
  /** Per-request timeout; default 60000 (k6's default). */
  readonly requestTimeoutMs?: number | undefined;
  /** Default 30000 (k6's gracefulStop). */
  readonly gracefulStopMs?: number | undefined;
}

export interface DriverBatch extends BatchExpectation {
  /** Requests of this batch that got no 2xx/3xx answer (k6's http_req_failed). */
  readonly failedRequests: number;
}

export interface ScheduleReport {
  /** Iterations the schedule would start over the whole run. */
  readonly plannedIterations: number;
  readonly startedIterations: number;
  readonly droppedIterations: number;
  /** Running when the graceful stop ended (or the run was aborted); no metrics recorded for them. */
  readonly interruptedIterations: number;
  /** Per second, over the started iterations' actual start times (first to last). */
  readonly achievedRate: number;
  /** Per second; for ramping arrival the mean over the schedule. */
  readonly targetRate: number;
  /** How late iterations started against their schedule (scheduler lag), in milliseconds. */
  readonly lateMs: { readonly p95: number; readonly max: number };
}

export interface RemoteWriteReport {
  readonly url: string;
  readonly pushes: number;
  readonly failures: number;
  readonly lastError?: string | undefined;
}

export interface DriverResult {
  readonly runId: string;
  readonly profile: string;
  readonly seed: number;
  readonly batchPrefix: string;
  /** ISO time of the first scheduled iteration. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly aborted: boolean;
  /** Built-in metrics over the whole run, as k6's end-of-test summary data. */
  readonly metrics: Readonly<Record<BuiltinMetric, MetricSummary>>;
  /** The sub-metrics thresholds select by tag, keyed as written (`http_req_duration{name:upload}`). */
  readonly submetrics: Readonly<Record<string, MetricSummary>>;
  readonly thresholds: ThresholdReport;
  /** Every batch the issued requests touched, with what the pipeline owes it. */
  readonly batches: readonly DriverBatch[];
  readonly schedule: ScheduleReport;
  readonly remoteWrite?: RemoteWriteReport | undefined;
  /** Hook calls that threw (the run goes on; the first message is in `hookError`). */
  readonly hookErrors: number;
  readonly hookError?: string | undefined;
}

export class DriverOptionsError extends LoadError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`driver option ${field}=${JSON.stringify(value)}: ${reason}`);
  }
}

function positive(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && v > 0)) throw new DriverOptionsError(field, value, 'must be a positive number');
  return v;
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs a profile against `baseUrl` and resolves with its metrics, threshold verdicts and batches. */
export async function runDriver(options: DriverOptions): Promise<DriverResult> {
  let baseUrl: URL;
  try {
    baseUrl = new URL(options.baseUrl);
  } catch {
    throw new DriverOptionsError('baseUrl', String(options.baseUrl), 'not a URL');
  }
  if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
    throw new DriverOptionsError('baseUrl', baseUrl.href, 'must be http: or https:');
  }
  if (options.remoteWriteUrl !== undefined && !URL.canParse(options.remoteWriteUrl)) {
    throw new DriverOptionsError('remoteWriteUrl', options.remoteWriteUrl, 'not a URL');
  }
  const { profile, runId, hooks } = options;
  const remoteWriteIntervalMs = positive('remoteWriteIntervalMs', options.remoteWriteIntervalMs, 1000);
  const progressIntervalMs = positive('progressIntervalMs', options.progressIntervalMs, 5000);
  const requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, 60_000);
  const gracefulStopMs = options.gracefulStopMs ?? 30_000;
  if (!(gracefulStopMs >= 0)) throw new DriverOptionsError('gracefulStopMs', gracefulStopMs, 'must be ≥ 0');
  const batchPrefix = options.batchPrefix ?? runId;
  const plan = new RequestPlan({ profile, batchPrefix, seed: options.seed, openBatches: options.openBatches });
  const progress =
    options.progress === false
      ? undefined
      : (options.progress ?? ((line: string) => process.stderr.write(`${line}\n`)));

  const schedule = new ArrivalSchedule(profile.arrival);
  const totalMs = arrivalDurationMs(profile.arrival);
  const { preAllocatedVUs, maxVUs } = profile.arrival;
  const collector = new Collector();
  const ledger = new PlanLedger();
  const failedByBatch = new Map<string, number>();
  const lateness = new TrendBuffer();
  const transport = createTransport(options.client ?? 'http', baseUrl, requestTimeoutMs);
  // Aborts running requests: on the caller's signal, or when the graceful stop runs out.
  const interrupt = new AbortController();
  // Every running request listens on it; hundreds at once are expected, not a leak.
  setMaxListeners(0, interrupt.signal);
  const onCallerAbort = (): void => interrupt.abort();
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (options.signal?.aborted) interrupt.abort();

  let hookErrors = 0;
  let hookError: string | undefined;
  const callHook = (call: () => void): void => {
    try {
      call();
    } catch (error) {
      hookErrors++;
      hookError ??= (error as Error).message;
    }
  };

  const freeVus: number[] = [];
  for (let vu = preAllocatedVUs - 1; vu >= 0; vu--) freeVus.push(vu);
  let allocated = preAllocatedVUs;
  let busy = 0;
  let interrupted = 0;
  let firstStart: number | undefined;
  let lastStart = 0;
  collector.setVus(allocated, allocated);

  const t0 = performance.now();
  const startedAt = Date.now();
  const elapsed = (): number => performance.now() - t0;

  async function iterate(): Promise<void> {
    const iterationStart = performance.now();
    const request = plan.next();
    ledger.record(request);
    if (hooks?.onRequest) callHook(() => hooks.onRequest!(request));
    const wallStart = Date.now();
    const spec = toHttp(request, wallStart);
    const sendStart = performance.now();
    let status = 0;
    let body = '';
    let error: Error | undefined;
    try {
      const response = await transport.send(spec, interrupt.signal);
      status = response.status;
      body = response.body;
      collector.dataSent += response.bytesSent;
      collector.dataReceived += response.bytesReceived;
    } catch (e) {
      if (interrupt.signal.aborted) {
        interrupted++;
        return;
      }
      error = e as Error;
      collector.dataSent += Buffer.byteLength(spec.body);
    }
    const durationMs = performance.now() - sendStart;
    collector.addHttp({ method: spec.method, name: request.name, status: String(status) }, status, durationMs);
    if (isFailedStatus(status)) failedByBatch.set(request.batchId, (failedByBatch.get(request.batchId) ?? 0) + 1);
    if (hooks?.onResponse) {
      callHook(() => hooks.onResponse!({ request, status, body, durationMs, startedAt: wallStart, error }));
    }
    collector.iterations++;
    collector.iterationDuration.add(performance.now() - iterationStart);
  }

  // Remote write: one push at a time, timestamps strictly increasing (Prometheus rejects a second
  // sample with the same timestamp).
  const remote = options.remoteWriteUrl;
  let pushes = 0;
  let pushFailures = 0;
  let pushError: string | undefined;
  let lastPushTs = 0;
  let pushing: Promise<void> | undefined;
  const push = (): Promise<void> => {
    if (remote === undefined) return Promise.resolve();
    const ts = Math.max(Date.now(), lastPushTs + 1);
    lastPushTs = ts;
    const series = k6Series(collector, runId);
    return pushSeries(remote, series, ts).then(
      () => void pushes++,
      (error: Error) => {
        if (pushFailures++ === 0) progress?.(`load ${profile.name}: ${error.message} (further failures counted)`);
        pushError = error.message;
      },
    );
  };
  const pushTimer =
    remote === undefined
      ? undefined
      : setInterval(() => {
          if (pushing) return;
          pushing = push().finally(() => (pushing = undefined));
        }, remoteWriteIntervalMs);

  let lastProgressIterations = 0;
  let lastProgressAt = 0;
  const progressTimer =
    progress === undefined
      ? undefined
      : setInterval(() => {
          const now = elapsed();
          const started = ledger.issuedCount;
          const rate = ((started - lastProgressIterations) * 1000) / Math.max(1, now - lastProgressAt);
          lastProgressIterations = started;
          lastProgressAt = now;
          const p95 = percentile(TrendBuffer.merge([...collector.http.values()].map((s) => s.duration)).sorted, 0.95);
          progress(
            `load ${profile.name}: ${formatDuration(Math.min(now, totalMs))}/${formatDuration(totalMs)} ` +
              `iterations=${collector.iterations} dropped=${collector.dropped} ` +
              `vus=${busy}/${allocated} (max ${maxVUs}) rate=${rate.toFixed(1)}/s p95=${formatDuration(p95)}`,
          );
        }, progressIntervalMs);

  const running = new Set<Promise<void>>();
  try {
    for (let n = 0; !interrupt.signal.aborted;) {
      const due = schedule.startOf(n);
      if (due === undefined) break;
      const now = elapsed();
      // Timers fire late rather than early; waking half a millisecond early keeps starts on time.
      if (due > now + 0.5) {
        await pause(due - now, interrupt.signal);
        continue;
      }
      n++;
      lateness.add(Math.max(0, now - due));
      let vu = freeVus.pop();
      if (vu === undefined && allocated < maxVUs) {
        vu = allocated++;
        collector.setVus(allocated, allocated);
      }
      if (vu === undefined) {
        collector.dropped++;
        continue;
      }
      firstStart ??= now;
      lastStart = now;
      busy++;
      const slot = vu;
      const task: Promise<void> = iterate().finally(() => {
        busy--;
        freeVus.push(slot);
        running.delete(task);
      });
      running.add(task);
    }
    if (running.size > 0 && !interrupt.signal.aborted) {
      const graceful = new AbortController();
      await Promise.race([
        Promise.allSettled([...running]).then(() => graceful.abort()),
        pause(gracefulStopMs, graceful.signal),
      ]);
      graceful.abort();
    }
    interrupt.abort();
    await Promise.allSettled([...running]);
  } finally {
    clearInterval(pushTimer);
    clearInterval(progressTimer);
    options.signal?.removeEventListener('abort', onCallerAbort);
    transport.close();
  }
  const durationMs = elapsed();
  if (pushing) await pushing;
  await push();

  const samples = (metric: string, tags: Readonly<Record<string, string>>) =>
    collector.samples(metric, tags, durationMs);
  const parsedThresholds = parseThresholds(profile.thresholds);
  const thresholds = evaluateThresholds(parsedThresholds, samples);
  const submetrics: Record<string, MetricSummary> = {};
  for (const t of parsedThresholds) {
    if (Object.keys(t.tags).length > 0) submetrics[t.key] ??= summarize(samples(t.metric, t.tags)!);
  }
  const started = ledger.issuedCount;
  const lateSorted = lateness.sorted();
  const achievedRate =
    firstStart !== undefined && started > 1 && lastStart > firstStart
      ? ((started - 1) * 1000) / (lastStart - firstStart)
      : 0;
  return {
    runId,
    profile: profile.name,
    seed: plan.seed,
    batchPrefix,
    startedAt: new Date(startedAt).toISOString(),
    durationMs,
    aborted: options.signal?.aborted ?? false,
    metrics: collector.summary(durationMs),
    submetrics,
    thresholds,
    batches: ledger.batches().map((b) => ({ ...b, failedRequests: failedByBatch.get(b.batchId) ?? 0 })),
    schedule: {
      plannedIterations: schedule.plannedIterations,
      startedIterations: started,
      droppedIterations: collector.dropped,
      interruptedIterations: interrupted,
      achievedRate,
      targetRate: (schedule.plannedIterations * 1000) / schedule.totalMs,
      lateMs: {
        p95: percentile(lateSorted, 0.95),
        max: lateSorted.length > 0 ? lateSorted[lateSorted.length - 1]! : 0,
      },
    },
    remoteWrite:
      remote === undefined ? undefined : { url: remote, pushes, failures: pushFailures, lastError: pushError },
    hookErrors,
    hookError,
  };
}
