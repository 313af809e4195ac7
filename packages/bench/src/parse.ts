/**
 * Parsers for what the dependencies' own benchmark tools print, and for the
 * coordinators' Prometheus exposition text. Pure functions: a tool's output
 * in, typed figures out; an output that does not hold the figure throws a
 * {@link ToolOutputError} naming the tool, the field and the text it saw.
 */
import { LabError } from '@chaos-lab/lab';

/** A tool printed something the bench cannot read a figure from. */
export class ToolOutputError extends LabError {
  constructor(
    readonly tool: string,
    readonly field: string,
    readonly value: string,
  ) {
    super(
      `${tool}: cannot read ${field} from ${JSON.stringify(value.length > 300 ? value.slice(0, 300) + '…' : value)}`,
    );
  }
}

/** One row of `redis-benchmark --csv`. Latencies are in milliseconds. */
export interface RedisBenchmarkRow {
  readonly test: string;
  readonly rps: number;
  readonly avgMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Splits one CSV line; fields may be quoted, with `""` for a quote inside. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new ToolOutputError('csv', 'a closing quote', line);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
    } else {
      while (i < line.length && line[i] !== ',') field += line[i++];
    }
    out.push(field);
    if (i >= line.length) return out;
    if (line[i] !== ',') throw new ToolOutputError('csv', 'a comma after a quoted field', line);
    i++;
  }
}

/**
 * Reads `redis-benchmark --csv` output: a header line naming the columns,
 * then one line per test. Columns are found by name, so an added column in
 * another version does not shift the figures.
 */
export function parseRedisBenchmarkCsv(text: string): RedisBenchmarkRow[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('"'));
  const headerAt = lines.findIndex((l) => {
    const f = splitCsvLine(l);
    return f.includes('test') && f.includes('rps');
  });
  if (headerAt === -1) throw new ToolOutputError('redis-benchmark', 'the CSV header', text);
  const header = splitCsvLine(lines[headerAt]!);
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i === -1) throw new ToolOutputError('redis-benchmark', `column ${name}`, lines[headerAt]!);
    return i;
  };
  const idx = {
    test: col('test'),
    rps: col('rps'),
    avg: col('avg_latency_ms'),
    p50: col('p50_latency_ms'),
    p99: col('p99_latency_ms'),
    max: col('max_latency_ms'),
  };
  const rows = lines.slice(headerAt + 1).map((line) => {
    const f = splitCsvLine(line);
    const num = (i: number, name: string) => {
      const v = Number(f[i]);
      if (f[i] === undefined || f[i] === '' || !Number.isFinite(v))
        throw new ToolOutputError('redis-benchmark', name, line);
      return v;
    };
    return {
      test: f[idx.test] ?? '',
      rps: num(idx.rps, 'rps'),
      avgMs: num(idx.avg, 'avg_latency_ms'),
      p50Ms: num(idx.p50, 'p50_latency_ms'),
      p99Ms: num(idx.p99, 'p99_latency_ms'),
      maxMs: num(idx.max, 'max_latency_ms'),
    };
  });
  if (rows.length === 0) throw new ToolOutputError('redis-benchmark', 'a result row', text);
  return rows;
}

/** The summary pgbench prints at the end of a run. */
export interface PgbenchSummary {
  readonly tps: number;
  readonly processed: number;
  readonly failed: number;
  readonly latencyAvgMs: number;
  readonly clients: number;
  readonly threads: number;
  readonly queryMode: string;
}

export function parsePgbench(text: string): PgbenchSummary {
  // An aborted run still prints a summary, of the transactions done before the abort.
  const aborted = /^pgbench: error: .*aborted.*$/m.exec(text);
  if (aborted) throw new ToolOutputError('pgbench', 'the figures of a complete run (it was aborted)', aborted[0]);
  const grab = (field: string, re: RegExp): string => {
    const m = re.exec(text);
    if (!m?.[1]) throw new ToolOutputError('pgbench', field, text);
    return m[1];
  };
  const num = (field: string, re: RegExp) => {
    const s = grab(field, re);
    const v = Number(s);
    if (!Number.isFinite(v)) throw new ToolOutputError('pgbench', field, s);
    return v;
  };
  return {
    // "tps = 1031.854542 (without initial connection time)"; pgbench 13+ prints only this variant.
    tps: num('tps', /^tps = ([\d.]+) \(without initial connection time\)/m),
    // "8258" with -T, "8258/8258" with -t: the first number is what was done.
    processed: num('transactions processed', /^number of transactions actually processed: (\d+)/m),
    failed: /^number of failed transactions: (\d+)/m.test(text)
      ? num('failed transactions', /^number of failed transactions: (\d+)/m)
      : 0,
    latencyAvgMs: num('latency average', /^latency average = ([\d.]+) ms/m),
    clients: num('number of clients', /^number of clients: (\d+)/m),
    threads: num('number of threads', /^number of threads: (\d+)/m),
    queryMode: grab('query mode', /^query mode: (\w+)/m),
  };
}

/**
 * Reads `kcat -Q -t topic:partition:-1` output ("topic [p] offset N", one
 * line per partition asked) into high watermarks by partition.
 */
export function parseKcatOffsets(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\S+ \[(\d+)\] offset (-?\d+)\s*$/.exec(line.trim());
    if (m) out.set(Number(m[1]), Number(m[2]));
  }
  if (out.size === 0) throw new ToolOutputError('kcat', 'a partition offset', text);
  return out;
}

/** kcat reports delivery problems on stderr as lines starting with "%" and an upper-case level. */
export function kcatErrors(stderr: string): string[] {
  return stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => /^% (ERROR|FATAL|Delivery failed)/i.test(l));
}

/**
 * Sums the samples of one metric in Prometheus text format whose labels
 * include every pair in `labels` (`_bucket`/`_sum` lines of other metrics
 * never match a different name).
 */
/**
 * Every series of metric `name` in a Prometheus text exposition, keyed by the values of `keys` joined with a
 * space (a label missing from a series reads as ''), summed where several series share a key.
 */
export function metricSeries(text: string, name: string, keys: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    if (close === -1) continue;
    const have = new Map<string, string>();
    for (const m of line.slice(name.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(m[1]!, m[2]!);
    const v = Number(
      line
        .slice(close + 1)
        .trim()
        .split(/\s+/)[0],
    );
    if (Number.isNaN(v)) continue;
    const key = keys.map((k) => have.get(k) ?? '').join(' ');
    out.set(key, (out.get(key) ?? 0) + v);
  }
  return out;
}

export function sumMetric(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    let labelText = '';
    let valueText: string;
    if (rest.startsWith('{')) {
      const close = rest.lastIndexOf('}');
      if (close === -1) continue;
      labelText = rest.slice(1, close);
      valueText = rest.slice(close + 1).trim();
    } else if (rest.startsWith(' ')) {
      valueText = rest.trim();
    } else {
      continue; // a longer name that starts with this one
    }
    const have = new Map<string, string>();
    for (const m of labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(m[1]!, m[2]!);
    if (!Object.entries(labels).every(([k, v]) => have.get(k) === v)) continue;
    const v = Number(valueText.split(/\s+/)[0]);
    if (Number.isNaN(v)) continue;
    sum += v;
    seen = true;
  }
  if (!seen && Object.keys(labels).length === 0) throw new ToolOutputError('/metrics', name, text.slice(0, 200));
  return sum;
}
