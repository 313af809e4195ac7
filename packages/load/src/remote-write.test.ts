import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@chaos-lab/lab';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDriver } from './driver.js';
import { parseProfile } from './profile.js';
import { startTestServer } from './test-server.js';

// A real Prometheus (apt package, 2.42) with its remote-write receiver and no scrape jobs: what it
// stores is only what the driver wrote.
let prometheus: ChildProcess | undefined;
let dir: string | undefined;
let api = '';

async function ready(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${log()}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prometheus not ready within 20 s: ${log()}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'load-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  const child = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus = child;
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  await ready(api, child, () => stderr);
}, 30_000);

afterAll(async () => {
  const child = prometheus;
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 20_000);

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<VectorSample[]> {
  const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; data: { result: VectorSample[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

describe('remote write to a real Prometheus', () => {
  test("k6's series arrive under k6's names with the testid label", async () => {
    await using server = await startTestServer({ delayMs: 1 });
    const profile = parseProfile({
      name: 'rw',
      seed: 3,
      arrival: {
        executor: 'constant-arrival-rate',
        rate: 30,
        timeUnit: '1s',
        duration: '3s',
        preAllocatedVUs: 2,
        maxVUs: 20,
      },
      batches: { sizeMin: 2, sizeMax: 5 },
      duplicateRatio: 0.1,
      validationFailureRatio: 0.1,
      textBytes: { min: 10, max: 100 },
      thresholds: { http_req_duration: ['p(95)<250'] },
    });
    const runId = `rw-${Date.now().toString(36)}`;
    const result = await runDriver({
      baseUrl: server.url,
      profile,
      runId,
      remoteWriteUrl: `${api}/api/v1/write`,
      remoteWriteIntervalMs: 500,
      progress: false,
    });
    expect(result.remoteWrite).toMatchObject({ failures: 0 });
    expect(result.remoteWrite!.pushes).toBeGreaterThanOrEqual(5);

    const reqs = await query(`k6_http_reqs_total{testid="${runId}"}`);
    expect(reqs.length).toBeGreaterThanOrEqual(3); // register, upload, upload_invalid/duplicate
    for (const s of reqs) {
      expect(s.metric).toMatchObject({ method: 'POST', status: '202', testid: runId });
      expect(['register', 'upload', 'upload_duplicate', 'upload_invalid']).toContain(s.metric.name);
    }
    // The last push carries the final counts.
    expect(reqs.reduce((n, s) => n + Number(s.value[1]), 0)).toBe(90);

    const p95 = await query(`k6_http_req_duration_p95{testid="${runId}"}`);
    expect(p95.length).toBe(reqs.length);
    for (const s of p95) {
      const seconds = Number(s.value[1]);
      expect(seconds).toBeGreaterThan(0);
      expect(seconds).toBeLessThan(1); // seconds, as k6 sends time trends, not milliseconds
    }
    for (const name of [
      'k6_http_req_duration_p50',
      'k6_http_req_duration_p99',
      'k6_http_req_duration_avg',
      'k6_http_req_failed_rate',
      'k6_iterations_total',
      'k6_dropped_iterations_total',
      'k6_vus',
      'k6_vus_max',
      'k6_data_sent_total',
      'k6_data_received_total',
    ]) {
      expect((await query(`${name}{testid="${runId}"}`)).length, name).toBeGreaterThan(0);
    }
    const [iterations] = await query(`k6_iterations_total{testid="${runId}"}`);
    expect(Number(iterations!.value[1])).toBe(90);
  });
});
