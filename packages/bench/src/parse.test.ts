import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ToolOutputError,
  kcatErrors,
  parseKcatOffsets,
  parsePgbench,
  parseRedisBenchmarkCsv,
  splitCsvLine,
  metricSeries,
  sumMetric,
} from './parse.js';

// Outputs captured from the tools on this machine (see fixtures/README.md).
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('parseRedisBenchmarkCsv', () => {
  it('reads rps and latencies of an EVALSHA run, by column name', () => {
    const [row, ...rest] = parseRedisBenchmarkCsv(fixture('redis-benchmark-pipeline16.csv.txt'));
    expect(rest).toEqual([]);
    expect(row).toEqual({
      test: expect.stringMatching(/^EVALSHA c9732673edb8bab42f0f294b27727a1500c04cea 5 bc:\{b:bench-redis-1\}:meta /),
      rps: 87668.03,
      avgMs: 8.852,
      p50Ms: 8.207,
      p99Ms: 20.239,
      maxMs: 47.519,
    });
  });

  it('reads the unpipelined run too', () => {
    const rows = parseRedisBenchmarkCsv(fixture('redis-benchmark-nopipeline.csv.txt'));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.rps).toBeGreaterThan(1000);
    expect(rows[0]!.test).toContain('__rand_int__');
  });

  it('finds columns by name when another version orders them differently', () => {
    const text =
      '"rps","test","max_latency_ms","p99_latency_ms","p50_latency_ms","avg_latency_ms"\n"12.5","X","4","3","2","1"\n';
    expect(parseRedisBenchmarkCsv(text)[0]).toEqual({ test: 'X', rps: 12.5, avgMs: 1, p50Ms: 2, p99Ms: 3, maxMs: 4 });
  });

  it('refuses a run that printed its header and then an error, naming the missing row', () => {
    const e = (() => {
      try {
        parseRedisBenchmarkCsv(fixture('redis-benchmark-noscript.txt'));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ToolOutputError);
    expect((e as ToolOutputError).field).toBe('a result row');
    expect((e as ToolOutputError).tool).toBe('redis-benchmark');
  });

  it('refuses output without the CSV header (a run without --csv)', () => {
    expect(() => parseRedisBenchmarkCsv('EVALSHA ...: 80256.82 requests per second, p50=9.135 msec\n')).toThrow(
      /CSV header/,
    );
  });

  it('refuses a row whose rps is not a number', () => {
    const text =
      '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n' +
      '"X","-nan","1","1","1","1","1","1"\n';
    expect(() => parseRedisBenchmarkCsv(text)).toThrow(/rps/);
  });
});

describe('splitCsvLine', () => {
  it('handles quoted commas and doubled quotes', () => {
    expect(splitCsvLine('"a,b","say ""hi""",3,')).toEqual(['a,b', 'say "hi"', '3', '']);
  });
  it('rejects an unterminated quote', () => {
    expect(() => splitCsvLine('"abc')).toThrow(ToolOutputError);
  });
});

describe('parsePgbench', () => {
  it('reads the summary of a timed run of the assignment script', () => {
    expect(parsePgbench(fixture('pgbench-assign-T10.txt'))).toEqual({
      tps: 1708.493538,
      processed: 17092,
      failed: 0,
      latencyAvgMs: 4.682,
      clients: 8,
      threads: 2,
      queryMode: 'extended',
    });
  });

  it('takes the done count of a -t run ("6/6")', () => {
    const s = parsePgbench(fixture('pgbench-t3.txt'));
    expect([s.processed, s.tps, s.clients]).toEqual([6, 3599.280144, 2]);
  });

  it('refuses an aborted run, whose figures are incomplete', () => {
    expect(() => parsePgbench(fixture('pgbench-aborted.txt'))).toThrow(/aborted/);
  });

  it('names the figure it could not find', () => {
    const noTps = fixture('pgbench-assign-T10.txt').replace(/^tps = .*$/m, '');
    expect(() => parsePgbench(noTps)).toThrow(expect.objectContaining({ tool: 'pgbench', field: 'tps' }));
  });
});

describe('kcat', () => {
  it('reads the high watermark of every partition', () => {
    const m = parseKcatOffsets(fixture('kcat-offsets.txt'));
    expect([...m.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...m.values()].reduce((a, b) => a + b, 0)).toBe(300_000);
  });

  it('refuses output with no offset line', () => {
    expect(() =>
      parseKcatOffsets('% ERROR: Failed to query metadata for topic x: Local: Broker transport failure\n'),
    ).toThrow(ToolOutputError);
  });

  it('picks delivery errors out of stderr and ignores the rest', () => {
    const stderr =
      '% Auto-selecting Producer mode (use -P or -C to override)\n' +
      '% ERROR: Local: Message timed out\n' +
      '% Delivery failed for message: Broker: Not enough in-sync replicas\n';
    expect(kcatErrors(stderr)).toEqual([
      '% ERROR: Local: Message timed out',
      '% Delivery failed for message: Broker: Not enough in-sync replicas',
    ]);
    expect(kcatErrors('')).toEqual([]);
  });
});

describe('sumMetric', () => {
  const text = fixture('coordinator.metrics.txt');

  it('reads a gauge without labels of its own', () => {
    expect(sumMetric(text, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1048576);
    expect(sumMetric(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(1048576);
  });

  it('sums a counter over the series that carry the asked labels', () => {
    const registered = sumMetric(text, 'coordinator_events_consumed_total', { event_type: 'batch.registered.v1' });
    const content = sumMetric(text, 'coordinator_events_consumed_total', {
      event_type: 'essay.content.provisioned.v1',
    });
    expect(registered).toBeGreaterThan(0);
    expect(content).toBeGreaterThan(registered);
    expect(sumMetric(text, 'coordinator_events_consumed_total')).toBe(registered + content);
  });

  it('does not count a longer metric name that starts with the asked one', () => {
    const t = 'x_total 2\nx_total_extra 5\nx_total{a="1"} 3\n';
    expect(sumMetric(t, 'x_total')).toBe(5);
    expect(sumMetric(t, 'x_total', { a: '1' })).toBe(3);
    expect(sumMetric(t, 'x_total', { a: '2' })).toBe(0);
  });

  it('throws for a metric that is not there at all', () => {
    expect(() => sumMetric(text, 'no_such_metric')).toThrow(ToolOutputError);
  });
});

describe('metricSeries', () => {
  it('keys each series by the asked labels, from a real /metrics', () => {
    const m = metricSeries(fixture('coordinator.metrics.txt'), 'coordinator_dependency_duration_seconds_count', [
      'dependency',
      'operation',
    ]);
    expect(m.get('postgres relay_outbox')).toBe(629);
    expect(m.get('redis ping')).toBe(1);
    expect([...m.keys()].every((k) => /^(postgres|redis) \w+$/.test(k))).toBe(true);
  });

  it('sums series that share a key, reads a missing label as empty, and skips other names', () => {
    const t = 'y{a="1",b="x"} 2\ny{a="1",b="z"} 3\ny{b="q"} 4\ny_sum{a="1"} 9\n# HELP y\n';
    expect(metricSeries(t, 'y', ['a'])).toEqual(
      new Map([
        ['1', 5],
        ['', 4],
      ]),
    );
    expect(metricSeries(t, 'none', ['a']).size).toBe(0);
  });
});
