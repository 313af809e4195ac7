/**
 * Every panel query, its variables resolved, sent to a real Prometheus: a
 * parse error is HTTP 400 `bad_data`. The server is empty, so this proves the
 * queries parse and type-check, not that they find series.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@chaos-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orZeroWhile } from './common.js';
import { ALL, dashboards, panelQueries, resolveGrafanaVariables } from './index.js';

const PROMETHEUS = '/usr/bin/prometheus';

interface QueryAnswer {
  readonly http: number;
  readonly status: string;
  readonly errorType?: string;
  readonly error?: string;
  readonly result?: readonly { metric: Record<string, string>; value: [number, string] }[];
}

let server: ChildProcess | undefined;
let dir: string | undefined;
let base = '';

async function query(expr: string): Promise<QueryAnswer> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    status: string;
    errorType?: string;
    error?: string;
    data?: { result?: QueryAnswer['result'] };
  };
  return {
    http: res.status,
    status: body.status,
    errorType: body.errorType,
    error: body.error,
    result: body.data?.result,
  };
}

async function ready(child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}): ${stderr().slice(-2000)}`);
    }
    const ok = await fetch(`${base}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prometheus not ready after 20 s: ${stderr().slice(-2000)}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dashboards-promql-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  // freePort leaves a window before Prometheus binds; a lost race shows as an early exit, so try a few ports.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    let stderr = '';
    const child = spawn(
      PROMETHEUS,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8000);
    });
    server = child;
    try {
      await ready(child, () => stderr);
      return;
    } catch (err) {
      await stop(child);
      if (attempt === 3 || !/address already in use/.test(String(err))) throw err;
    }
  }
}, 40_000);

afterAll(async () => {
  if (server !== undefined) await stop(server);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 20_000);

const intervals = { rateInterval: '1m', interval: '15s', range: '15m' } as const;

describe('panel queries against Prometheus', () => {
  it('rejects a query that does not parse (the check below can fail)', async () => {
    const answer = await query('sum by (x) (rate(foo[1m])');
    expect(answer).toMatchObject({ http: 400, status: 'error', errorType: 'bad_data' });
  });

  const cases = panelQueries().map((q) => ({ ...q, name: `${q.dashboard} / ${q.panel} / ${q.refId}` }));

  it.each(cases)('$name parses with All selected', async ({ expr }) => {
    const resolved = resolveGrafanaVariables(expr, { ...intervals, vars: { instance: ALL, testid: ALL } });
    const answer = await query(resolved);
    expect(answer, resolved).toMatchObject({ http: 200, status: 'success' });
  });

  it('every query parses with several values selected', async () => {
    const vars = { instance: ['coordinator-1', 'coordinator.2'], testid: ['run-1'] };
    const failures: string[] = [];
    for (const { expr } of cases) {
      const resolved = resolveGrafanaVariables(expr, { ...intervals, vars });
      const answer = await query(resolved);
      if (answer.http !== 200) failures.push(`${resolved}: ${answer.error}`);
    }
    expect(failures).toEqual([]);
  });

  it('the chaos timeline annotation query parses', async () => {
    const exprs = dashboards().flatMap((d) => (d.json.annotations?.list ?? []).map((a) => a.expr ?? ''));
    expect(exprs.filter((e) => e !== '').length).toBeGreaterThan(0);
    for (const expr of exprs.filter((e) => e !== '')) {
      expect(await query(resolveGrafanaVariables(expr, intervals)), expr).toMatchObject({ http: 200 });
    }
  });
});

describe('orZeroWhile', () => {
  it('adds one 0 labelled "none" while the presence series exists and the expression has none', async () => {
    const answer = await query(orZeroWhile('sum by (reason) (rate(absent_total[1m]))', 'vector(1)', 'reason'));
    expect(answer.result).toEqual([{ metric: { reason: 'none' }, value: [expect.any(Number), '0'] }]);
  });

  it('adds nothing when the source does not report', async () => {
    const answer = await query(orZeroWhile('sum by (reason) (rate(absent_total[1m]))', 'absent_gauge', 'reason'));
    expect(answer).toMatchObject({ http: 200, result: [] });
  });

  it('adds nothing when the expression has series of its own', async () => {
    const answer = await query(orZeroWhile('label_replace(vector(3), "reason", "oom", "", "")', 'vector(1)', 'reason'));
    expect(answer.result).toEqual([{ metric: { reason: 'oom' }, value: [expect.any(Number), '3'] }]);
  });
});
