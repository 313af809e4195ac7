#!/usr/bin/env node
/**
 * `npm run bench`: one run, one table. Starts a pipeline stack per
 * coordinator count (1, 2, 3), measures saturation throughput and the
 * latency at half of it on each, the dependencies' raw rates with their own
 * tools on the first stack's servers, one saturation run through the ingest
 * service, then memory per instance at three batch sizes (a fresh stack
 * each); prints the table on stdout, a progress line per step on stderr, and
 * writes every figure to runs/bench-<time>.json (the servers' and instances'
 * logs beside it in runs/bench-<time>/).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { defaultRunsDir, runAllCleanups, startPipelineStack, type StartedPipelineStack } from '@chaos-lab/lab';
import { type RawRate } from './goals.js';
import { positiveInt, readSettings } from './settings.js';
import { cpuMeter, type CpuUse } from './machine.js';
import {
  PipelineClient,
  httpSaturation,
  idleFigures,
  memoryOf,
  paced,
  saturation,
  type HttpResult,
  type LatencyResult,
  type MemoryResult,
  type SaturationResult,
} from './pipeline.js';
import { buildTable, renderTable, type Goals, type IdleFigures, type TableInput } from './report.js';
import {
  kafkaRaw,
  postgresRaw,
  redisRaw,
  type KafkaRawResult,
  type PostgresRawResult,
  type RedisRawResult,
} from './tools.js';

/** `LAB_BENCH_*` settings, read once here. Defaults are the figures the README describes. */
const Settings = z.object({
  /** Batches of the saturation runs (× LAB_BENCH_ESSAYS contents). Default 200. */
  LAB_BENCH_BATCHES: positiveInt('LAB_BENCH_BATCHES', 200, 5000),
  /** Seconds of paced publishing for the latency figures. Default 20. */
  LAB_BENCH_PACED_SECONDS: positiveInt('LAB_BENCH_PACED_SECONDS', 20, 600),
  /** Contents of each memory run (the same for every batch size). Default 4000. */
  LAB_BENCH_MEMORY_CONTENTS: positiveInt('LAB_BENCH_MEMORY_CONTENTS', 4000, 100_000),
  /** Highest coordinator count measured (1..N). Default 3. */
  LAB_BENCH_MAX_INSTANCES: positiveInt('LAB_BENCH_MAX_INSTANCES', 3, 8),
});

const settings = (env: NodeJS.ProcessEnv) => readSettings(Settings, env);

/** Essays per batch of the throughput and latency runs; the pgbench script's batches have 20 slots too. */
const ESSAYS = 20;
const MEMORY_SIZES = [10, 200, 2000] as const;
/** The goals of issue 13 (the README's "The goals"). */
const GOALS: Goals = {
  minPgbenchRatio: 1.0,
  minScale: 1.0,
  maxCpuGrowth: 1.2,
  maxP99Ms: 10,
  maxE2eP99Ms: 250,
  minUploadsPerSecond: 1500,
  maxFlatness: 1.25,
  minScaleWithLatency: 2.5,
  linkLatencyMs: 1,
};
/** Seconds of the idle measurement (no input at all), on the stack with the most instances. */
const IDLE_SECONDS = 12;

async function main(): Promise<void> {
  const cfg = settings(process.env);
  const t0 = Date.now();
  const stamp = new Date(t0).toISOString().replace(/[:.]/g, '-');
  const runsDir = defaultRunsDir();
  const runDir = join(runsDir, `bench-${stamp}`);
  await mkdir(runDir, { recursive: true });
  const instanceCounts = Array.from({ length: cfg.LAB_BENCH_MAX_INSTANCES }, (_, i) => i + 1);
  const latencyCounts = instanceCounts.length > 1 ? [1, instanceCounts.at(-1)!] : [];
  const totalSteps = instanceCounts.length * 2 + 3 + 1 + 1 + latencyCounts.length + MEMORY_SIZES.length;
  let step = 0;
  const progress = (line: string) =>
    process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  /** Other work on the machine during each step, by step key (see machine.ts). */
  const cpuByStep = new Map<string, CpuUse>();
  /** Runs one step: a progress line, then the step with the machine's CPU metered around it. */
  const runStep = async <T>(key: string, line: string, fn: () => Promise<T>): Promise<T> => {
    progress(`bench [${++step}/${totalSteps}] ${line}`);
    const stop = await cpuMeter();
    const r = await fn();
    const cpu = await stop();
    if (cpu) {
      cpuByStep.set(key, cpu);
      progress(
        `bench:   cpu over ${cpu.seconds.toFixed(0)} s: this bench ${cpu.ownCores.toFixed(2)} cores, other work ${cpu.otherCores.toFixed(2)} cores`,
      );
    }
    return r;
  };
  const others = (key: string) => {
    const c = cpuByStep.get(key);
    return c ? `; others ${c.otherCores.toFixed(1)} cores` : '';
  };
  const uptimeBefore = (await readFile('/proc/loadavg', 'utf8').catch(() => '')).trim();
  progress(
    `bench: ${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; logs in ${runDir}`,
  );

  const sat: { instances: number; result: SaturationResult }[] = [];
  const lat: { instances: number; result: LatencyResult }[] = [];
  let redis: RedisRawResult[] = [];
  let postgres: PostgresRawResult | undefined;
  let kafka: KafkaRawResult | undefined;
  let http: HttpResult | undefined;
  const memory: MemoryResult[] = [];
  let idle: IdleFigures | undefined;
  const linkLatency: { instances: number; result: SaturationResult }[] = [];

  const withStack = async (
    name: string,
    instances: number,
    fn: (stack: StartedPipelineStack, client: PipelineClient) => Promise<void>,
    throughFaultProxy = false,
  ) => {
    progress(`bench: starting a stack with ${instances} coordinator(s) (${name})`);
    await using stack = await startPipelineStack({
      logDir: join(runDir, name),
      coordinators: instances,
      ingest: 1,
      partitions: 6,
      throughFaultProxy,
      progress: (l) => progress(`  ${l}`),
    });
    const client = await PipelineClient.start(stack, progress);
    try {
      await fn(stack, client);
    } finally {
      await client.stop();
      // Each instance's final /metrics beside its log, for whoever reads a figure and wants the series behind it.
      await Promise.allSettled(
        stack.coordinators.all.map(async (c, i) =>
          writeFile(join(runDir, name, `coordinator-${i + 1}.metrics.txt`), await c.metrics()),
        ),
      );
      progress(`bench: stopping the stack (${name})`);
    }
  };

  const name = (n: number) => `stack-${n}`;
  for (const n of instanceCounts) {
    await withStack(name(n), n, async (stack, client) => {
      if (n === instanceCounts.at(-1)) {
        idle = await runStep('idle', `idle, ${n} instance(s): ${IDLE_SECONDS} s with no input`, () =>
          idleFigures(stack, IDLE_SECONDS),
        );
        progress(
          `bench:   per instance ${idle.perInstance.map((p) => `${p.cpuMsPerSecond.toFixed(1)} ms`).join(' / ')} CPU per second; Redis ${idle.redisCommandsPerSecond.toFixed(1)} commands/s, Postgres ${idle.postgresTransactionsPerSecond.toFixed(1)} transactions/s`,
        );
      }
      const s = await runStep(
        `sat${n}`,
        `saturation, ${n} instance(s): ${cfg.LAB_BENCH_BATCHES} batches × ${ESSAYS} contents as one backlog`,
        () => saturation(client, `sat${n}`, cfg.LAB_BENCH_BATCHES, ESSAYS, progress),
      );
      sat.push({ instances: n, result: s });
      progress(
        `bench:   ${s.perSecond.toFixed(0)} assignments/s over ${s.spanSeconds.toFixed(1)} s (backlog published in ${s.publishSeconds.toFixed(1)} s)`,
      );
      // Two scrapes apart, so the paced window's histogram holds nothing of the backlog.
      await new Promise((r) => setTimeout(r, 2500));
      const rate = s.perSecond / 2;
      const l = await runStep(
        `lat${n}`,
        `latency, ${n} instance(s): ${rate.toFixed(0)} contents/s for ${cfg.LAB_BENCH_PACED_SECONDS} s`,
        () => paced(stack, client, `lat${n}`, rate, cfg.LAB_BENCH_PACED_SECONDS, ESSAYS, progress),
      );
      lat.push({ instances: n, result: l });
      progress(
        `bench:   e2e p50 ${l.e2e.p50Ms.toFixed(1)} ms p99 ${l.e2e.p99Ms.toFixed(1)} ms (last assigned ${l.drainMs} ms after the last publish); coordinator p50 ${l.coordinator?.p50Ms.toFixed(1) ?? 'n/a'} ms p99 ${l.coordinator?.p99Ms.toFixed(1) ?? 'n/a'} ms`,
      );
      if (n === instanceCounts.at(-1)) {
        await new Promise((r) => setTimeout(r, 1000));
        const h = await runStep('http', `saturation through the ingest HTTP service, ${n} instance(s)`, () =>
          httpSaturation(stack, client, `http${n}`, cfg.LAB_BENCH_BATCHES, ESSAYS, 32, progress),
        );
        http = h;
        progress(
          `bench:   ${h.perSecond.toFixed(0)} assignments/s; uploads answered at ${h.requestsPerSecond.toFixed(0)}/s`,
        );
        // Last on the last pipeline stack, so their rows and keys change nothing the pipeline measured. The
        // coordinators stop first (their metrics saved): the tools measure the dependencies alone, and no relay
        // publishes the outbox rows pgbench writes.
        await Promise.all(
          stack.coordinators.all.map(async (c, i) =>
            writeFile(join(runDir, name(n), `coordinator-${i + 1}.metrics.txt`), await c.metrics()),
          ),
        );
        await stack.coordinators.stop();
        const dir = join(runDir, 'tools');
        await mkdir(dir, { recursive: true });
        redis = await runStep(
          'redis',
          'raw Redis: redis-benchmark EVALSHA of the assign script, without and with pipelining',
          () =>
            redisRaw(stack, dir, [
              { requests: 60_000, clients: 50, pipeline: 1 },
              { requests: 150_000, clients: 50, pipeline: 16 },
            ]),
        );
        progress(`bench:   ${redis.map((r) => `-P ${r.pipeline}: ${r.row.rps.toFixed(0)} req/s`).join(', ')}`);
        const pgResult = await runStep(
          'postgres',
          'raw Postgres: pgbench running the assignment write transaction',
          () => postgresRaw(stack, dir, { clients: 8, threads: 2, seconds: 10, batchesPerClient: 500 }),
        );
        postgres = pgResult;
        progress(`bench:   ${pgResult.summary.tps.toFixed(0)} tx/s (${pgResult.summary.processed} transactions)`);
        const kResult = await runStep('kafka', 'raw Kafka: kcat producing 1 KB messages', () =>
          kafkaRaw(stack, dir, { messages: 100_000, runs: 3, partitions: 6 }),
        );
        kafka = kResult;
        progress(`bench:   ${kResult.rate.toFixed(0)} msg/s (median of ${kResult.runs.length} runs)`);
      }
    });
  }

  for (const n of latencyCounts) {
    await withStack(
      `links-${n}`,
      n,
      async (stack, client) => {
        // Downstream (server → client): every request's answer comes GOALS.linkLatencyMs later, so every round trip
        // on these links pays it once.
        for (const link of ['redis', 'postgres'] as const)
          await stack.env.links.addToxic('all', link, 'round-trip', {
            type: 'latency',
            attributes: { latency: GOALS.linkLatencyMs, jitter: 0 },
          });
        const s = await runStep(
          `links${n}`,
          `saturation, ${n} instance(s), ${GOALS.linkLatencyMs} ms on every Redis and Postgres round trip`,
          () => saturation(client, `links${n}`, cfg.LAB_BENCH_BATCHES, ESSAYS, progress),
        );
        linkLatency.push({ instances: n, result: s });
        progress(`bench:   ${s.perSecond.toFixed(0)} assignments/s over ${s.spanSeconds.toFixed(1)} s`);
      },
      true,
    );
  }

  const memInstances = instanceCounts.at(-1)!;
  for (const size of MEMORY_SIZES) {
    await withStack(`memory-${size}`, memInstances, async (stack, client) => {
      const batches = Math.max(1, Math.round(cfg.LAB_BENCH_MEMORY_CONTENTS / size));
      const s = await runStep(
        `mem${size}`,
        `memory, ${memInstances} instances: ${batches} batches × ${size} essays`,
        () => saturation(client, `mem${size}`, batches, size, progress),
      );
      await new Promise((r) => setTimeout(r, 1000));
      const perInstance = await memoryOf(stack);
      memory.push({ essaysPerBatch: size, batches, contents: s.contents, perSecond: s.perSecond, perInstance });
      progress(
        `bench:   RSS ${perInstance.map((p) => (p.rssBytes / 1048576).toFixed(0)).join(' / ')} MiB, heap used ${perInstance.map((p) => (p.heapUsedBytes / 1048576).toFixed(0)).join(' / ')} MiB (${s.perSecond.toFixed(0)} assignments/s)`,
      );
    });
  }

  if (!postgres || !kafka || redis.length === 0) throw new Error('a raw rate is missing');
  const raw: RawRate[] = [
    ...redis.map((r) => ({
      dependency: 'redis' as const,
      label: `Redis: assign script by EVALSHA (redis-benchmark -c ${r.clients}${r.pipeline > 1 ? ` -P ${r.pipeline}` : ', no pipelining'})${others('redis')}`,
      rate: r.row.rps,
      unit: 'req/s',
    })),
    {
      dependency: 'postgres',
      label: `Postgres: assignment write transaction (pgbench -c ${postgres.summary.clients} -j ${postgres.summary.threads} -M ${postgres.summary.queryMode})${others('postgres')}`,
      rate: postgres.summary.tps,
      unit: 'tx/s',
    },
    {
      dependency: 'kafka',
      label: `Kafka: produce ${kafka.messageBytes} B messages (kcat, acks=all)${others('kafka')}`,
      rate: kafka.rate,
      unit: 'msg/s',
    },
  ];
  /** A saturation result as a table row, with the other work on the machine during its step. */
  const row = (instances: number, r: SaturationResult, step: string) => ({
    instances,
    perSecond: r.perSecond,
    cpuMsPerAssignment: r.cpuMsPerAssignment,
    contents: r.contents,
    note: `${r.spanSeconds.toFixed(1)} s first→last${others(step)}`,
  });
  const input: TableInput = {
    essaysPerBatch: ESSAYS,
    raw,
    saturation: sat.map((s) => row(s.instances, s.result, `sat${s.instances}`)),
    ...(http && {
      http: {
        ...row(memInstances, http, 'http'),
        uploadsPerSecond: http.requestsPerSecond,
        concurrency: http.concurrency,
      },
    }),
    ...(linkLatency.length > 0 && {
      linkLatency: {
        latencyMs: GOALS.linkLatencyMs,
        runs: linkLatency.map((l) => row(l.instances, l.result, `links${l.instances}`)),
      },
    }),
    ...(idle && { idle }),
    latency: lat.map((l) => ({
      instances: l.instances,
      rate: l.result.targetRate,
      coordinator: l.result.coordinator,
      e2e: l.result.e2e,
      drainMs: l.result.drainMs,
      note: others(`lat${l.instances}`).slice(2),
    })),
    memoryInstances: memInstances,
    memory: memory.map((m) => ({
      essaysPerBatch: m.essaysPerBatch,
      rssBytes: m.perInstance.map((p) => p.rssBytes),
      heapUsedBytes: m.perInstance.map((p) => p.heapUsedBytes),
    })),
    goals: GOALS,
  };
  const table = buildTable(input);
  const text = renderTable(table);
  const wallSeconds = (Date.now() - t0) / 1000;
  const uptimeAfter = (await readFile('/proc/loadavg', 'utf8').catch(() => '')).trim();
  const jsonFile = join(runsDir, `bench-${stamp}.json`);
  await writeFile(
    jsonFile,
    JSON.stringify(
      {
        startedAt: new Date(t0).toISOString(),
        wallSeconds,
        machine: { cores: cpus().length, loadavgBefore: uptimeBefore, loadavgAfter: uptimeAfter },
        settings: cfg,
        goals: GOALS,
        raw: { redis, postgres, kafka, converted: table.converted, slowest: table.slowest },
        saturation: sat,
        linkLatency,
        idle,
        latency: lat,
        http,
        memory,
        cpuByStep: Object.fromEntries(cpuByStep),
        table: { rows: table.rows, footnotes: table.footnotes, goalsMet: table.goalsMet, goalsTotal: table.goalsTotal },
        logs: runDir,
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(text + '\n');
  progress(`bench: done in ${wallSeconds.toFixed(0)} s; figures in ${jsonFile}; load average now ${uptimeAfter}`);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await runAllCleanups();
  process.exit(1);
});
