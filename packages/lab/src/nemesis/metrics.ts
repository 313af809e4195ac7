/**
 * Reading the instances' Prometheus metrics, to see whether a fault had an
 * effect (errors or latency on a dependency during its window). A minimal
 * text-format reader: counters, gauges and histogram sums/counts are enough.
 */
import type { CoordinatorInstance } from '../instances/instances.js';

export type Samples = Map<string, number>;

export function parsePrometheus(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    const v = Number(line.slice(i + 1));
    if (Number.isFinite(v)) out.set(line.slice(0, i), v);
  }
  return out;
}

/** Sum of the samples of `metric` whose labels include every `key="value"` given. */
export function sum(samples: Samples, metric: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, v] of samples) {
    if (!(key === metric || key.startsWith(metric + '{'))) continue;
    if (Object.entries(labels).every(([k, val]) => key.includes(`${k}="${val}"`))) total += v;
  }
  return total;
}

/** Metrics of the given instances (an instance that does not answer contributes nothing). */
export async function snapshot(instances: readonly CoordinatorInstance[]): Promise<Samples[]> {
  return Promise.all(instances.map(async (x) => parsePrometheus(await x.metrics().catch(() => ''))));
}

/**
 * How much a counter rose between two snapshots of the same instances. With faults on at once, an instance may
 * not answer one of the snapshots (paused, killed) or may have restarted in between: one that did not answer the
 * second counts nothing (not minus what it had), one whose counter went down counts from its restart.
 */
export function counterDelta(
  before: Samples[],
  after: Samples[],
  metric: string,
  labels: Record<string, string> = {},
): number {
  return after.reduce((total, a, i) => {
    if (a.size === 0) return total;
    const now = sum(a, metric, labels);
    const then = sum(before[i] ?? new Map(), metric, labels);
    return total + (now >= then ? now - then : now);
  }, 0);
}

/**
 * Errors and mean latency on one dependency between two snapshots of the same instances, and the mean latency
 * of every call before the first (`meanBeforeMs`, 0 without calls): what "slower than usual" is measured against.
 */
export function dependencyDelta(before: Samples[], after: Samples[], dependency: string) {
  const errors = counterDelta(before, after, 'coordinator_dependency_errors_total', { dependency });
  const seconds = counterDelta(before, after, 'coordinator_dependency_duration_seconds_sum', { dependency });
  const calls = counterDelta(before, after, 'coordinator_dependency_duration_seconds_count', { dependency });
  const none: Samples[] = before.map(() => new Map());
  const secondsBefore = counterDelta(none, before, 'coordinator_dependency_duration_seconds_sum', { dependency });
  const callsBefore = counterDelta(none, before, 'coordinator_dependency_duration_seconds_count', { dependency });
  return {
    errors,
    calls,
    meanMs: calls > 0 ? (seconds / calls) * 1000 : 0,
    meanBeforeMs: callsBefore > 0 ? (secondsBefore / callsBefore) * 1000 : 0,
  };
}
