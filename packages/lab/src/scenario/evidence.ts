/**
 * The evidence a failing seed prints under its verdict table. A run folder
 * holds everything, but a CI machine's folders go with the machine, and what
 * outlives it is the test output: so a failing seed says, in a few lines,
 * where the coordinators' group stood on each input partition and what each
 * instance complained about — enough to tell "the group skipped messages"
 * from "the group is stuck on one" from "the instances never saw them"
 * without the folder.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OffsetSnapshot } from './offsets.js';

export interface GroupRow {
  readonly partition: string;
  readonly committed: string;
  readonly end: string;
}

/**
 * One line per input topic: `topic: p0 start→committed/end …`, only the partitions the seed wrote to or where
 * the group is not at the end. `committed` -1 (never committed) is printed as `-`.
 */
export function offsetLines(rows: readonly GroupRow[], start: OffsetSnapshot): string[] {
  const byTopic = new Map<string, string[]>();
  for (const r of rows) {
    const slash = r.partition.lastIndexOf('/');
    const topic = r.partition.slice(0, slash);
    const from = start.get(r.partition);
    const moved = from === undefined || r.end === '?' || BigInt(r.end) !== from;
    const behind = r.end === '?' || r.committed !== r.end;
    if (!moved && !behind) continue;
    const committed = r.committed === '-1' ? '-' : r.committed;
    const cell = `p${r.partition.slice(slash + 1)} ${from ?? '?'}→${committed}/${r.end}${behind ? ' (behind)' : ''}`;
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), cell]);
  }
  return [...byTopic].map(([topic, cells]) => `  ${topic} (start→committed/end): ${cells.join(', ')}`);
}

interface LogLine {
  readonly level?: number;
  readonly msg?: string;
  readonly err?: unknown;
  readonly error?: unknown;
}

/**
 * Per instance log (the seed's slice), its warnings and errors by message, most frequent first, with the last
 * error text of each: `coordinator-2: 24× processing failed; retrying the message (last: …)`.
 */
export async function logDigest(logsDir: string, perInstance = 3): Promise<string[]> {
  const lines: string[] = [];
  const files = (await readdir(logsDir).catch(() => [] as string[])).filter(
    (f) => f.startsWith('coordinator-') && f.endsWith('.log'),
  );
  for (const f of files.sort()) {
    const counts = new Map<string, { n: number; last?: string }>();
    for (const raw of (await readFile(join(logsDir, f), 'utf8').catch(() => '')).split('\n')) {
      if (!raw.startsWith('{')) continue;
      let e: LogLine;
      try {
        e = JSON.parse(raw) as LogLine;
      } catch {
        continue;
      }
      if ((e.level ?? 0) < 40 || !e.msg) continue;
      const c = counts.get(e.msg) ?? { n: 0 };
      c.n++;
      const why = e.err ?? e.error;
      if (why !== undefined) c.last = (typeof why === 'string' ? why : JSON.stringify(why)).slice(0, 160);
      counts.set(e.msg, c);
    }
    const top = [...counts].sort((a, b) => b[1].n - a[1].n).slice(0, perInstance);
    const name = f.slice(0, -'.log'.length);
    lines.push(
      top.length === 0
        ? `  ${name}: no warnings`
        : `  ${name}: ${top.map(([msg, c]) => `${c.n}× ${msg.slice(0, 80)}${c.last ? ` (last: ${c.last})` : ''}`).join('; ')}`,
    );
  }
  return lines;
}
