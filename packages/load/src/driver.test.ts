import { describe, expect, test } from 'vitest';
import { runDriver, type ResponseEvent } from './driver.js';
import { planExpectations, toHttp, RequestPlan } from './plan.js';
import { parseProfile, type Profile } from './profile.js';
import { formatSummary } from './summary.js';
import { startTestServer } from './test-server.js';

function profile(
  arrival: Partial<Profile['arrival']> & Record<string, unknown>,
  extra: Partial<Profile> = {},
): Profile {
  return parseProfile({
    name: 'driver-test',
    seed: 5,
    arrival: {
      executor: 'constant-arrival-rate',
      rate: 50,
      timeUnit: '1s',
      duration: '2s',
      preAllocatedVUs: 2,
      maxVUs: 10,
      ...arrival,
    },
    batches: { sizeMin: 2, sizeMax: 6, deadlineSeconds: 60 },
    duplicateRatio: 0.1,
    validationFailureRatio: 0.1,
    registerFirstRatio: 0.5,
    textBytes: { min: 20, max: 200 },
    thresholds: {
      http_req_duration: ['p(95)<250'],
      'http_req_duration{name:upload}': ['p(95)<250'],
      http_req_failed: ['rate<0.01'],
      dropped_iterations: ['count<1'],
    },
    ...extra,
  });
}

describe('the open model', () => {
  test('a slow service with few VUs: iterations are dropped and counted, never queued', async () => {
    await using server = await startTestServer({ delayMs: 400 });
    // Capacity: 4 VUs / 0.4 s = 10 iterations/s against 50 scheduled.
    const p = profile({ rate: 50, duration: '2s', preAllocatedVUs: 2, maxVUs: 4 });
    const result = await runDriver({ baseUrl: server.url, profile: p, runId: 'slow-run', progress: false });
    const { schedule, metrics } = result;
    expect(schedule.plannedIterations).toBe(100);
    expect(schedule.startedIterations + schedule.droppedIterations).toBe(100);
    // At most ~4 per 0.4 s can start (plus one round at the end): 2 s → ≤ 24 started.
    expect(schedule.startedIterations).toBeLessThanOrEqual(28);
    expect(schedule.droppedIterations).toBeGreaterThanOrEqual(72);
    expect(metrics.dropped_iterations).toMatchObject({ type: 'counter', count: schedule.droppedIterations });
    expect(metrics.vus_max).toMatchObject({ value: 4, max: 4 });
    expect(metrics.iterations).toMatchObject({ count: schedule.startedIterations });
    expect(server.received).toHaveLength(schedule.startedIterations);
    // The service was slow, not the client: durations reflect the handler's delay.
    expect(metrics.http_req_duration.type === 'trend' && metrics.http_req_duration.min).toBeGreaterThanOrEqual(390);
    expect(result.thresholds.ok).toBe(false);
    expect(result.thresholds.results.find((r) => r.key === 'dropped_iterations')).toMatchObject({ ok: false });
  });

  test('a fast service: the target rate is met and nothing is dropped', async () => {
    await using server = await startTestServer({ delayMs: 0 });
    const p = profile({ rate: 100, duration: '4s', preAllocatedVUs: 5, maxVUs: 100 });
    const result = await runDriver({ baseUrl: server.url, profile: p, runId: 'fast-run', progress: false });
    expect(result.schedule.droppedIterations).toBe(0);
    expect(result.schedule.startedIterations).toBe(400);
    // Achieved rate from the actual first and last start times. Measured 99.95–100.0 req/s alone and with
    // three CPU-bound processes on the 2 cores (start lag p95 up to 126 ms, max 231 ms: late starts catch
    // up); 5 % leaves room for a long stall right at the end.
    expect(Math.abs(result.schedule.achievedRate - 100) / 100).toBeLessThan(0.05);
    expect(result.metrics.http_reqs).toMatchObject({ count: 400 });
    expect(result.metrics.http_req_failed).toMatchObject({ rate: 0, passes: 0, fails: 400 });
    expect(result.thresholds.ok).toBe(true);
    expect(result.aborted).toBe(false);
  });
});

describe('requests, hooks and expectations', () => {
  test('the service receives exactly the plan prefix; hooks see every response; batches match the plan', async () => {
    await using server = await startTestServer();
    const p = profile({ rate: 40, duration: '2s', preAllocatedVUs: 2, maxVUs: 20 });
    const responses: ResponseEvent[] = [];
    let requests = 0;
    const result = await runDriver({
      baseUrl: server.url,
      profile: p,
      runId: 'hooks-run',
      progress: false,
      hooks: { onRequest: () => requests++, onResponse: (e) => responses.push(e) },
    });
    const n = result.schedule.startedIterations;
    expect(n).toBe(80);
    expect(requests).toBe(n);
    expect(responses).toHaveLength(n);
    expect(responses.every((r) => r.status === 202)).toBe(true);
    const invalid = responses.filter((r) => r.request.name === 'upload_invalid');
    expect(invalid.length).toBeGreaterThan(0);
    for (const r of invalid) expect(JSON.parse(r.body)).toEqual({ outcome: 'validation_failed' });

    // What arrived is the plan's first n requests (order may differ: they run concurrently).
    const plan = new RequestPlan({ profile: p, batchPrefix: 'hooks-run' });
    const expected = Array.from({ length: n }, () => plan.next()).map((r) => {
      const spec = toHttp(r, 0);
      return `${spec.path} ${spec.headers['Idempotency-Key'] ?? '-'} ${r.name === 'register' ? r.batchId : spec.body}`;
    });
    const actual = server.received.map((r) => {
      const body = JSON.parse(r.body) as { batch_id?: string; deadline?: string };
      return `${r.path} ${r.idempotencyKey ?? '-'} ${body.batch_id ?? r.body}`;
    });
    expect(actual.sort()).toEqual(expected.sort());
    for (const r of server.received.filter((x) => x.path === '/v1/batches')) {
      expect(Date.parse((JSON.parse(r.body) as { deadline: string }).deadline)).toBeGreaterThan(Date.now());
    }

    const expectations = planExpectations({ profile: p, batchPrefix: 'hooks-run' }, n);
    expect(result.batches.map(({ failedRequests: _f, ...b }) => b)).toEqual(expectations);
    expect(result.batches.some((b) => b.complete)).toBe(true);
    expect(result.batches.every((b) => b.failedRequests === 0)).toBe(true);
  });

  test('a service answering 503: requests count as failed, per batch too, and thresholds fail', async () => {
    await using server = await startTestServer({ status: 503 });
    const p = profile({ rate: 20, duration: '1s', preAllocatedVUs: 2, maxVUs: 10 });
    const result = await runDriver({ baseUrl: server.url, profile: p, runId: 'down-run', progress: false });
    expect(result.metrics.http_req_failed).toMatchObject({ rate: 1, passes: 20 });
    expect(result.batches.reduce((n, b) => n + b.failedRequests, 0)).toBe(20);
    expect(result.thresholds.results.find((r) => r.key === 'http_req_failed')).toMatchObject({ ok: false, actual: 1 });
  });

  test('no server at all: status 0 failures, the run still ends', async () => {
    const p = profile({ rate: 10, duration: '1s', preAllocatedVUs: 2, maxVUs: 10 });
    const result = await runDriver({ baseUrl: 'http://127.0.0.1:9', profile: p, runId: 'nobody', progress: false });
    expect(result.metrics.http_req_failed).toMatchObject({ rate: 1 });
    expect(result.metrics.http_reqs).toMatchObject({ count: 10 });
  });

  test('aborting stops the schedule and interrupts running requests', async () => {
    await using server = await startTestServer({ delayMs: 5000 });
    const p = profile({ rate: 20, duration: '30s', preAllocatedVUs: 2, maxVUs: 100 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const t0 = performance.now();
    const result = await runDriver({
      baseUrl: server.url,
      profile: p,
      runId: 'abort-run',
      signal: controller.signal,
      progress: false,
    });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(result.aborted).toBe(true);
    expect(result.schedule.interruptedIterations).toBe(result.schedule.startedIterations);
    expect(result.schedule.startedIterations).toBeGreaterThan(0);
    expect(result.metrics.http_reqs).toMatchObject({ count: 0 });
  });

  test('progress lines every interval; bad options rejected naming the field', async () => {
    await using server = await startTestServer();
    const lines: string[] = [];
    const p = profile({ rate: 20, duration: '1500ms' });
    await runDriver({
      baseUrl: server.url,
      profile: p,
      runId: 'progress',
      progress: (l) => lines.push(l),
      progressIntervalMs: 400,
    });
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(
      /^load driver-test: [\d.]+m?s\/1\.5s iterations=\d+ dropped=0 vus=\d+\/\d+ \(max 10\) rate=[\d.]+\/s p95=/,
    );
    await expect(runDriver({ baseUrl: 'nope', profile: p, runId: 'x' })).rejects.toThrow(/baseUrl="nope"/);
    await expect(runDriver({ baseUrl: server.url, profile: p, runId: 'bad id' })).rejects.toThrow(
      /batchPrefix="bad id"/,
    );
  });
});

describe('summary', () => {
  test("k6's dotted layout with every built-in metric and the threshold marks", async () => {
    await using server = await startTestServer();
    const p = profile({ rate: 20, duration: '1s' });
    const result = await runDriver({ baseUrl: server.url, profile: p, runId: 'summary-run', progress: false });
    const text = formatSummary(result);
    expect(text).toMatch(
      /✓ http_req_duration\.+: avg=\S+ +min=\S+ +med=\S+ +max=\S+ +p\(90\)=\S+ +p\(95\)=\S+ +p\(99\)=\S+/,
    );
    expect(text).toMatch(/✓ http_req_failed\.+: 0\.00% +0 out of 20/);
    expect(text).toMatch(/ {2}http_reqs\.+: 20 +[\d.]+\/s/);
    expect(text).toMatch(/\{ name:upload \}\.+: avg=/);
    for (const name of [
      'iterations',
      'iteration_duration',
      'dropped_iterations',
      'vus',
      'vus_max',
      'data_sent',
      'data_received',
    ]) {
      expect(text).toMatch(new RegExp(`${name}\\.+: `));
    }
    expect(text).toMatch(/data_sent\.+: [\d.]+ k?B/);
    expect(text).toContain("✓ 'p(95)<250' p(95)=");
    expect(text).toContain('✓ all 4 thresholds passed');
  });
});
