#!/usr/bin/env node
/**
 * `npm run bench:profile`: where the coordinator's CPU goes at saturation.
 * Starts one pipeline stack (as `npm run bench` does), starts V8's sampling
 * profiler in every coordinator instance through its inspector, publishes
 * the saturation backlog, stops the profilers once every content is
 * assigned, and prints the busy time by owner (a library, the service's own
 * code, the garbage collector; see profile.ts) and per assignment. The
 * profiles are written as `.cpuprofile` files (Chrome DevTools, speedscope)
 * to runs/bench-profile-<time>/.
 *
 * LAB_COORDINATOR_ENTRY profiles another build (the apps/coordinator/dist/
 * main.js of a checkout of an earlier commit), for a before/after on one
 * machine.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { z } from 'zod';
import { defaultRunsDir, runAllCleanups, startPipelineStack, type CpuProfile } from '@chaos-lab/lab';
import { PipelineClient, httpSaturation, paced, saturation, outputDelays, type LatencyResult } from './pipeline.js';
import { profileRows } from './profile.js';
import { optionalPositiveInt, positiveInt, readSettings } from './settings.js';

const Settings = z.object({
  /** Batches of the saturation backlog (× 20 contents). Default 200, as the bench's. */
  LAB_BENCH_BATCHES: positiveInt('LAB_BENCH_BATCHES', 200, 5000),
  /** Coordinator instances. Default 1. */
  LAB_BENCH_PROFILE_INSTANCES: positiveInt('LAB_BENCH_PROFILE_INSTANCES', 1, 8),
  /**
   * Contents per second: when set, the profile is taken under paced load at this rate (as the bench's latency
   * phase) instead of at saturation, and the delay is split into its consumer and relay parts. Unset: saturation.
   */
  LAB_BENCH_PROFILE_RATE: optionalPositiveInt('LAB_BENCH_PROFILE_RATE', 100_000),
  /**
   * Whose CPU: `coordinator` (default) or `ingest` — then the load is the bench's upload run through the ingest's
   * HTTP API (32 requests in flight), and the ingest instance is profiled.
   */
  LAB_BENCH_PROFILE_TARGET: z
    .enum(['coordinator', 'ingest'])
    .optional()
    .default('coordinator')
    .describe('LAB_BENCH_PROFILE_TARGET'),
  /** Seconds of paced load (with LAB_BENCH_PROFILE_RATE). Default 20, as the bench's. */
  LAB_BENCH_PACED_SECONDS: positiveInt('LAB_BENCH_PACED_SECONDS', 20, 600),
});
const ESSAYS = 20;
/** Sampling interval of V8's profiler, µs. */
const SAMPLING_US = 500;

async function main(): Promise<void> {
  const cfg = readSettings(Settings, process.env);
  const t0 = Date.now();
  const progress = (line: string) =>
    process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  const runDir = join(defaultRunsDir(), `bench-profile-${new Date(t0).toISOString().replace(/[:.]/g, '-')}`);
  await mkdir(runDir, { recursive: true });
  const n = cfg.LAB_BENCH_PROFILE_INSTANCES;
  progress(
    `bench:profile: ${n} coordinator(s), ${cfg.LAB_BENCH_BATCHES} batches × ${ESSAYS}; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; entry ${process.env.LAB_COORDINATOR_ENTRY ?? 'this build'}; files in ${runDir}`,
  );
  await using stack = await startPipelineStack({
    logDir: runDir,
    coordinators: n,
    ingest: 1,
    partitions: 6,
    progress: (l) => progress(`  ${l}`),
  });
  const client = await PipelineClient.start(stack, progress);
  const rate = cfg.LAB_BENCH_PROFILE_RATE;
  let profiles: CpuProfile[];
  let result: { contents: number; perSecond: number };
  let latency: LatencyResult | undefined;
  let delays: Awaited<ReturnType<typeof outputDelays>> | undefined;
  try {
    const profiled = cfg.LAB_BENCH_PROFILE_TARGET === 'ingest' ? stack.ingest.all : stack.coordinators.all;
    const stops = await Promise.all(profiled.map((c) => c.startCpuProfile(SAMPLING_US)));
    if (cfg.LAB_BENCH_PROFILE_TARGET === 'ingest') {
      progress(`bench:profile: ingest profiler started (every ${SAMPLING_US} µs); uploading through its HTTP API`);
      const r = await httpSaturation(stack, client, 'prof', cfg.LAB_BENCH_BATCHES, ESSAYS, 32, progress);
      result = { contents: r.contents, perSecond: r.requestsPerSecond };
    } else if (rate === undefined) {
      progress(`bench:profile: profilers started (every ${SAMPLING_US} µs); publishing the backlog`);
      result = await saturation(client, 'prof', cfg.LAB_BENCH_BATCHES, ESSAYS, progress);
    } else {
      progress(
        `bench:profile: profilers started (every ${SAMPLING_US} µs); ${rate} contents/s for ${cfg.LAB_BENCH_PACED_SECONDS} s`,
      );
      latency = await paced(stack, client, 'prof', rate, cfg.LAB_BENCH_PACED_SECONDS, ESSAYS, progress);
      result = { contents: latency.contents, perSecond: latency.achievedRate };
    }
    profiles = await Promise.all(stops.map((stop) => stop()));
    if (latency) delays = await outputDelays(stack, latency);
  } finally {
    await client.stop();
  }
  await Promise.all(
    profiles.map((p, i) =>
      writeFile(join(runDir, `${cfg.LAB_BENCH_PROFILE_TARGET}-${i + 1}.cpuprofile`), JSON.stringify(p)),
    ),
  );
  const { rows, busyMs, idleMs } = profileRows(profiles);
  const windowMs = profiles.reduce((a, p) => a + (p.endTime - p.startTime) / 1000, 0);
  const table = new Table({
    head: [
      'owner',
      'busy ms',
      'share',
      cfg.LAB_BENCH_PROFILE_TARGET === 'ingest' ? 'ms per upload' : 'ms per assignment',
    ],
    style: { head: [], border: [] },
  });
  for (const r of rows)
    table.push([r.owner, r.ms.toFixed(0), `${(r.share * 100).toFixed(1)} %`, (r.ms / result.contents).toFixed(3)]);
  table.push(['all but idle', busyMs.toFixed(0), '100 %', (busyMs / result.contents).toFixed(3)]);
  process.stdout.write(
    [
      (cfg.LAB_BENCH_PROFILE_TARGET === 'ingest'
        ? `CPU profile of the ingest at saturation (32 uploads in flight): ${result.contents} uploads at ${result.perSecond.toFixed(0)}/s; `
        : `CPU profile ${rate === undefined ? 'at saturation' : `at ${rate} contents/s`}: ${n} coordinator(s), ${result.contents} assignments at ${result.perSecond.toFixed(0)}/s; `) +
        `profiled ${(windowMs / 1000).toFixed(1)} s of instance time, busy ${((busyMs / windowMs) * 100).toFixed(0)} %, idle ${idleMs.toFixed(0)} ms`,
      table.toString(),
      ...(latency && delays
        ? [
            `publish → slot-assigned event created: p50 ${latency.e2e.p50Ms.toFixed(0)} ms, p99 ${latency.e2e.p99Ms.toFixed(0)} ms, max ${latency.e2e.maxMs.toFixed(0)} ms; drain after the last publish ${latency.drainMs.toFixed(0)} ms`,
            `  publish → acknowledged by the broker (the bench's producer):   p50 ${latency.acked.p50Ms.toFixed(0)} ms, p99 ${latency.acked.p99Ms.toFixed(0)} ms`,
            `  publish → assignment committed (its outbox row's created_at): p50 ${delays.committed.p50Ms.toFixed(0)} ms, p99 ${delays.committed.p99Ms.toFixed(0)} ms`,
            `  committed → relayed (published_at − created_at):                p50 ${delays.relayed.p50Ms.toFixed(0)} ms, p99 ${delays.relayed.p99Ms.toFixed(0)} ms`,
          ]
        : []),
      `profiles: ${runDir}/${cfg.LAB_BENCH_PROFILE_TARGET}-*.cpuprofile`,
    ].join('\n') + '\n',
  );
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench:profile: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await runAllCleanups();
  process.exit(1);
});
