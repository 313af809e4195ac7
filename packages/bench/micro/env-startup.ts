/**
 * Measures how long the local environment takes to come up (Redis +
 * PostgreSQL + the Kafka mock cluster, started in parallel): once cold (an
 * empty template cache, so initdb runs) and N times warm. Prints a table.
 *
 *   node --import tsx packages/bench/micro/env-startup.ts [--runs 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { startEnvironment } from '@chaos-lab/lab';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const logDir = mkdtempSync(join(tmpdir(), 'env-bench-logs-'));
const cache = mkdtempSync(join(tmpdir(), 'env-bench-cache-'));
process.env.LAB_CACHE_DIR = cache;

async function once(): Promise<{ total: number; stop: number }> {
  const env = await startEnvironment({ logDir });
  const total = env.startupMs;
  const t = performance.now();
  await env.stop();
  return { total, stop: performance.now() - t };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const cold = await once();
  const warm: { total: number; stop: number }[] = [];
  for (let i = 0; i < runs; i++) warm.push(await once());
  const table = new Table({ head: ['environment', 'up (ms)', 'stop (ms)'], style: { head: [], border: [] } });
  table.push(['cold (template cache empty: initdb)', cold.total.toFixed(0), cold.stop.toFixed(0)]);
  table.push([
    `warm, median of ${runs}`,
    median(warm.map((w) => w.total)).toFixed(0),
    median(warm.map((w) => w.stop)).toFixed(0),
  ]);
  table.push([
    `warm, min–max`,
    `${Math.min(...warm.map((w) => w.total)).toFixed(0)}–${Math.max(...warm.map((w) => w.total)).toFixed(0)}`,
    '',
  ]);
  process.stdout.write(table.toString() + '\n');
} finally {
  rmSync(logDir, { recursive: true, force: true });
  rmSync(cache, { recursive: true, force: true });
}
