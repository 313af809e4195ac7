/**
 * A real Prometheus (Debian's `prometheus` package) for one lab run, started
 * as a child process on a free loopback port, with its TSDB in the run's work
 * dir and the remote-write receiver on (k6 and the embedded load driver push
 * their metrics there).
 *
 * What it scrapes is not fixed at start: every component and instance of the
 * run is a target that appears and moves (an instance restarted on a new
 * port). So the configuration has a single scrape job reading targets from
 * files (`file_sd_configs`), one file per kind of component, which
 * {@link StartedPrometheus.setTargets} rewrites atomically; the target
 * group's own `job` label names the component, so queries read
 * `{job="coordinator"}` as they would in a deployment.
 *
 * The scrape interval is short (1 s by default) because a lab run lasts
 * seconds to minutes: a 15 s interval would leave a seed with two points.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ManagedProcess } from '../../process/managed-process.js';
import { InvalidArgumentError, LabError, LabTimeoutError, MissingDependencyError } from '../../errors.js';
import { LOOPBACK, PORT_IN_USE, checkPort, findExecutable, launchServer, withPortRetry } from './launch.js';
import { recordPidSync } from './work-dir.js';

export interface PrometheusServerOptions {
  /** Folder for this server; the TSDB goes to `<workDir>/data`, the config and target files beside it. */
  readonly workDir: string;
  /** File that receives the server's output. */
  readonly logFile: string;
  /** Port on 127.0.0.1. Default: a free port (retried with a new one if taken meanwhile). */
  readonly port?: number;
  /** Scrape (and rule evaluation) interval. Default 1000 ms; 200 ms to 60 000 ms. */
  readonly scrapeIntervalMs?: number;
  /** The prometheus binary. Default: `prometheus` on $PATH. */
  readonly binary?: string;
  /** How long to wait for `/-/ready`. Default 15 000 ms. */
  readonly startTimeoutMs?: number;
}

/** One endpoint to scrape: `host:port` (its `/metrics`) and extra labels for its series. */
export interface ScrapeTarget {
  readonly address: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** A sample of an instant query. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** A series of a range query: `[unix seconds, value as text]` pairs. */
export interface PromSeries {
  readonly metric: Record<string, string>;
  readonly values: [number, string][];
}

export interface StartedPrometheus extends AsyncDisposable {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Where k6's and the load driver's remote-write output posts. */
  readonly remoteWriteUrl: string;
  readonly pid: number;
  readonly running: boolean;
  readonly logFile: string;
  readonly scrapeIntervalMs: number;
  /** Replaces the targets of one component (`job` label), e.g. `coordinator`; an empty list removes them. */
  setTargets(job: string, targets: readonly ScrapeTarget[]): Promise<void>;
  /** Instant query; throws a LabError carrying Prometheus' own message when the query is bad. */
  query(expr: string, atMs?: number): Promise<PromSample[]>;
  /** Range query over `[startMs, endMs]` with a step. */
  queryRange(expr: string, startMs: number, endMs: number, stepMs: number): Promise<PromSeries[]>;
  /** Resolves when every target of `job` has been scraped successfully at least once (`up == 1`). */
  waitForTargets(job: string, count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const JOB_RE = /^[a-z][a-z0-9_-]{0,49}$/;
const ADDRESS_RE = /^[^\s:/]+:\d{1,5}$/;

function configYaml(intervalMs: number, targetsDir: string): string {
  // JSON is YAML: no YAML library needed, and no quoting mistakes.
  const interval = `${intervalMs}ms`;
  return JSON.stringify(
    {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      scrape_configs: [
        {
          job_name: 'lab',
          file_sd_configs: [{ files: [join(targetsDir, '*.json')], refresh_interval: '1s' }],
        },
      ],
    },
    null,
    2,
  );
}

async function start(options: PrometheusServerOptions): Promise<StartedPrometheus> {
  checkPort(options.port);
  const scrapeIntervalMs = options.scrapeIntervalMs ?? 1000;
  if (!Number.isInteger(scrapeIntervalMs) || scrapeIntervalMs < 200 || scrapeIntervalMs > 60_000)
    throw new InvalidArgumentError('scrapeIntervalMs', scrapeIntervalMs, 'an integer from 200 to 60000');
  const binary = findExecutable(options.binary ?? 'prometheus');
  if (binary === undefined)
    throw new MissingDependencyError(options.binary ?? 'prometheus', 'install it with: apt-get install -y prometheus');
  const workDir = resolve(options.workDir);
  const dataDir = join(workDir, 'data');
  const targetsDir = join(workDir, 'targets');
  const configFile = join(workDir, 'prometheus.yml');
  await mkdir(dataDir, { recursive: true });
  await mkdir(targetsDir, { recursive: true });
  await writeFile(configFile, configYaml(scrapeIntervalMs, targetsDir));
  const logFile = resolve(options.logFile);
  const { port, proc } = await withPortRetry('prometheus', options.port, async (port) => {
    const r = await launchServer({
      component: 'prometheus',
      spawn: {
        name: 'prometheus',
        command: binary,
        args: [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${dataDir}`,
          `--web.listen-address=${LOOPBACK}:${port}`,
          '--web.enable-remote-write-receiver',
          '--storage.tsdb.retention.time=1d',
          '--log.level=warn',
        ],
        cwd: workDir,
        logFile,
        stopTimeoutMs: 5000,
        // Recorded for the reaper in the spawn's own tick, not once ready (see work-dir.ts).
        onSpawn: (pid) => recordPidSync(workDir, pid, binary),
      },
      readyWhat: '/-/ready answered by a Prometheus using our data dir',
      ready: async () => (await isOurs(port, dataDir)) === true,
      timeoutMs: options.startTimeoutMs ?? 15_000,
      killAll: async (p) => {
        await p.kill();
      },
    });
    if (r === PORT_IN_USE) return r;
    return { port, proc: r };
  });
  return new PrometheusInstance(port, proc, logFile, targetsDir, scrapeIntervalMs);
}

/** Ready, and really the server we started (its flags name our data dir): another process could hold the port. */
async function isOurs(port: number, dataDir: string): Promise<boolean> {
  const ready = await fetch(`http://${LOOPBACK}:${port}/-/ready`, { signal: AbortSignal.timeout(1000) });
  if (!ready.ok) return false;
  const flags = (await (
    await fetch(`http://${LOOPBACK}:${port}/api/v1/status/flags`, { signal: AbortSignal.timeout(1000) })
  ).json()) as { data?: Record<string, string> };
  return flags.data?.['storage.tsdb.path'] === dataDir;
}

/** Starts Prometheus servers. */
export const PrometheusServer: { start(options: PrometheusServerOptions): Promise<StartedPrometheus> } = { start };

class PrometheusInstance implements StartedPrometheus {
  private stopping: Promise<void> | undefined;

  constructor(
    readonly port: number,
    private readonly proc: ManagedProcess,
    readonly logFile: string,
    private readonly targetsDir: string,
    readonly scrapeIntervalMs: number,
  ) {}

  get url(): string {
    return `http://${LOOPBACK}:${this.port}`;
  }
  get remoteWriteUrl(): string {
    return `${this.url}/api/v1/write`;
  }
  get pid(): number {
    return this.proc.pid ?? -1;
  }
  get running(): boolean {
    return this.proc.running;
  }

  async setTargets(job: string, targets: readonly ScrapeTarget[]): Promise<void> {
    if (!JOB_RE.test(job)) throw new InvalidArgumentError('job', job, 'a name matching [a-z][a-z0-9_-]*');
    for (const [i, t] of targets.entries()) {
      if (!ADDRESS_RE.test(t.address)) throw new InvalidArgumentError(`targets[${i}].address`, t.address, 'host:port');
    }
    const groups = targets.map((t) => ({ targets: [t.address], labels: { ...t.labels, job } }));
    // Prometheus may read the file at any moment: write aside, then rename over it.
    const file = join(this.targetsDir, `${job}.json`);
    await writeFile(`${file}.tmp`, JSON.stringify(groups));
    await rename(`${file}.tmp`, file);
  }

  private async api<T>(path: string, params: Record<string, string>): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method: 'POST',
      body: new URLSearchParams(params),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json().catch(() => ({}))) as { status?: string; data?: T; error?: string };
    if (!res.ok || body.status !== 'success') {
      throw new LabError(
        `prometheus ${path} ${JSON.stringify(params.query)} failed: HTTP ${res.status} ${body.error ?? ''}`.trim(),
      );
    }
    return body.data as T;
  }

  async query(expr: string, atMs?: number): Promise<PromSample[]> {
    const data = await this.api<{ resultType: string; result: PromSample[] }>('/api/v1/query', {
      query: expr,
      ...(atMs !== undefined && { time: String(atMs / 1000) }),
    });
    return data.resultType === 'vector' ? data.result : [];
  }

  async queryRange(expr: string, startMs: number, endMs: number, stepMs: number): Promise<PromSeries[]> {
    if (!(stepMs > 0)) throw new InvalidArgumentError('stepMs', stepMs, 'a positive number of milliseconds');
    const data = await this.api<{ result: PromSeries[] }>('/api/v1/query_range', {
      query: expr,
      start: String(startMs / 1000),
      end: String(endMs / 1000),
      step: String(stepMs / 1000),
    });
    return data.result;
  }

  async waitForTargets(job: string, count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let last = 0;
    while (performance.now() < deadline) {
      last = (await this.query(`up{job="${job}"} == 1`).catch(() => [])).length;
      if (last >= count) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new LabTimeoutError(`prometheus scraping ${count} ${job} target(s) (${last} up)`, timeoutMs);
  }

  stop(): Promise<void> {
    return (this.stopping ??= this.proc.stop('SIGTERM').then(() => undefined));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
