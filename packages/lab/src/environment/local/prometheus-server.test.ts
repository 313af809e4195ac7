/**
 * A real Prometheus process: it scrapes a target that appears through the
 * target files, answers instant and range queries, reports a bad query with
 * its own message, and is gone after stop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { InvalidArgumentError, LabError, MissingDependencyError } from '../../errors.js';
import { isProcessAlive } from './proc.js';
import { PrometheusServer, type StartedPrometheus } from './prometheus-server.js';
import { createWorkDir, type WorkDir } from './work-dir.js';

let work: WorkDir;
let prom: StartedPrometheus;
let target: Server;
let targetPort: number;
const registry = new Registry();
const hits = new Counter({ name: 'lab_test_hits_total', help: 'test counter', registers: [registry] });

beforeAll(async () => {
  work = await createWorkDir();
  target = createServer((req, res) => {
    void registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(text);
    });
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetPort = (target.address() as { port: number }).port;
  prom = await PrometheusServer.start({
    workDir: join(work.path, 'prometheus'),
    logFile: join(work.path, 'prometheus.log'),
    scrapeIntervalMs: 500,
  });
}, 30_000);

afterAll(async () => {
  await prom?.stop();
  await new Promise((r) => target?.close(r));
  await work?.remove();
});

describe('PrometheusServer', () => {
  it('scrapes a target added through the target files, with the job and extra labels', async () => {
    hits.inc(7);
    await prom.setTargets('widget', [{ address: `127.0.0.1:${targetPort}`, labels: { instance_id: 'w-1' } }]);
    await prom.waitForTargets('widget', 1, 20_000);
    // The first scrape may have landed before the counter was read; wait for the sample itself.
    let samples: Awaited<ReturnType<StartedPrometheus['query']>> = [];
    for (let i = 0; i < 40 && samples.length === 0; i++) {
      samples = await prom.query('lab_test_hits_total{job="widget"}');
      if (samples.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(samples).toHaveLength(1);
    expect(samples[0]!.metric).toMatchObject({ job: 'widget', instance_id: 'w-1' });
    expect(Number(samples[0]!.value[1])).toBe(7);

    const now = Date.now();
    const range = await prom.queryRange('up{job="widget"}', now - 10_000, now, 500);
    expect(range).toHaveLength(1);
    expect(range[0]!.values.length).toBeGreaterThan(0);
  }, 30_000);

  it('removes targets when given an empty list', async () => {
    await prom.setTargets('gone', [{ address: `127.0.0.1:${targetPort}` }]);
    await prom.waitForTargets('gone', 1, 20_000);
    await prom.setTargets('gone', []);
    const deadline = Date.now() + 15_000;
    let active = 1;
    while (Date.now() < deadline && active > 0) {
      const res = (await (await fetch(`${prom.url}/api/v1/targets?state=active`)).json()) as {
        data: { activeTargets: { labels: Record<string, string> }[] };
      };
      active = res.data.activeTargets.filter((t) => t.labels.job === 'gone').length;
      if (active > 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(active).toBe(0);
  }, 30_000);

  it("reports a bad query with Prometheus' own message", async () => {
    await expect(prom.query('rate(lab_test_hits_total[')).rejects.toThrow(LabError);
    await expect(prom.query('rate(lab_test_hits_total[')).rejects.toThrow(/bad_data|parse error/);
  });

  it('rejects a bad job name or address, naming it', async () => {
    await expect(prom.setTargets('Bad Job', [])).rejects.toThrow(InvalidArgumentError);
    await expect(prom.setTargets('ok', [{ address: 'no-port' }])).rejects.toThrow(/targets\[0\]\.address/);
  });

  it('tells how to install a missing binary', async () => {
    await expect(
      PrometheusServer.start({
        workDir: join(work.path, 'x'),
        logFile: join(work.path, 'x.log'),
        binary: 'no-such-prom',
      }),
    ).rejects.toThrow(MissingDependencyError);
  });

  it('is gone after stop (twice is fine)', async () => {
    const other = await PrometheusServer.start({
      workDir: join(work.path, 'p2'),
      logFile: join(work.path, 'p2.log'),
    });
    const pid = other.pid;
    expect(isProcessAlive(pid)).toBe(true);
    await other.stop();
    await other.stop();
    expect(isProcessAlive(pid)).toBe(false);
  }, 30_000);
});
