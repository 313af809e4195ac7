/**
 * The read behind the `inputs-consumed` verdict: after the heal, how far the
 * coordinators' group has committed each input partition, waiting at most a
 * bound for it to reach the end; and, for a partition left behind, what
 * blocks it — the message at the committed offset, the instance that logs
 * failing it (how often, the last error) and the batches waiting behind it.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Consumption, PartitionConsumption, StuckMessage } from '@chaos-lab/model';
import type { InputLog } from './input-log.js';
import { messageValue, publishedEvents, type HistoryEntry } from '@chaos-lab/model';
import type { OffsetSnapshot } from './offsets.js';

export interface ConsumptionSource {
  groupProgress(
    topics: readonly string[],
    ends: OffsetSnapshot,
  ): Promise<{ partition: string; committed: string; end: string }[]>;
  /** When a member last joined the group (epoch ms): the bound counts from the later of its start and that. */
  lastGroupJoinMs?(): Promise<number | undefined>;
  /**
   * Whether the group is rebalancing now (a running member owns no partition: it is between a revocation and
   * its next assignment, or recreating a crashed consumer): the bound counts from the last time it was.
   */
  groupRebalancing?(): Promise<boolean>;
  readonly inputLog: InputLog;
  /** The folder of the instances' logs (`<instance>.log`, pino JSON lines). */
  readonly logDir: string;
}

const VALUE_SNIPPET = 120;

/** How much longer than its bound a group that keeps rebalancing may take to consume every input. */
export const REBALANCE_GRACE_MS = 30_000;

/** A committed offset, with "-1" (never committed) read as the partition's start. */
const atOrAfterStart = (committed: string) => (BigInt(committed) < 0n ? 0n : BigInt(committed));

/** Polls the group until every partition is committed to `ends`, or `boundMs` has passed; then explains what is behind. */
export async function readConsumption(
  source: ConsumptionSource,
  topics: readonly string[],
  ends: OffsetSnapshot | undefined,
  boundMs: number,
  /** The run's history so far (when each blocking message was published) and its clock now. */
  history: { readonly entries: readonly HistoryEntry[]; readonly nowMs: () => number },
): Promise<Consumption> {
  if (!ends) return { boundMs, unavailable: 'the input topics could not be read to their end', partitions: [] };
  // The bound is how long a settled group gets: a member that joined meanwhile (a rebalance, after a restart or a
  // lost session) starts it again, up to REBALANCE_GRACE_MS more — a group still rebalancing is slow, not stuck
  // (fuzz seed 62, five sessions on two cores: 24 s of rejoins after the heal, then every partition consumed).
  // A group that is still rebalancing (a member without partitions) counts the same way, from the last time it
  // was seen so: the local broker's group coordinator can keep a group rebalancing for seconds after every member
  // is back (instance-crash seed 13 on 2d2d09d: its SyncGroup answers INVALID_REQUEST to a follower that syncs
  // after the leader, kafkajs takes that as fatal, the member's consumer is recreated and rejoins — ten times in
  // 30 s, the last join 7 s after the previous one, past the bound).
  const start = Date.now();
  const hardDeadline = start + boundMs + REBALANCE_GRACE_MS;
  let rebalancingAt = 0;
  let rows: { partition: string; committed: string; end: string }[];
  for (;;) {
    try {
      rows = await source.groupProgress(topics, ends);
    } catch (err) {
      return { boundMs, unavailable: (err as Error).message, partitions: [] };
    }
    const behind = rows.filter((r) => r.end !== '?' && atOrAfterStart(r.committed) < BigInt(r.end));
    if (behind.length === 0) break;
    if (await source.groupRebalancing?.().catch(() => false)) rebalancingAt = Date.now();
    if (Date.now() > start + boundMs) {
      const joined = (await source.lastGroupJoinMs?.().catch(() => undefined)) ?? 0;
      if (Date.now() > Math.min(hardDeadline, Math.max(start, joined, rebalancingAt) + boundMs)) break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const logs = await instanceLogs(source.logDir);
  // When each message value was first published (history time), to say how long a blocking one has blocked.
  const published = new Map<string, number>();
  for (const p of publishedEvents(history.entries)) {
    const v = messageValue(p);
    if (!published.has(v)) published.set(v, p.invokeTime);
  }
  const partitions: PartitionConsumption[] = [];
  for (const r of rows) {
    if (r.end === '?') continue;
    const slash = r.partition.lastIndexOf('/');
    const topic = r.partition.slice(0, slash);
    const partition = Number(r.partition.slice(slash + 1));
    const row: PartitionConsumption = { topic, partition, committed: r.committed, end: r.end };
    partitions.push(
      BigInt(r.committed) < BigInt(r.end)
        ? { ...row, stuck: explain(source.inputLog, logs, topic, partition, r.committed, published) }
        : row,
    );
  }
  return { boundMs, judgedAtMs: Math.round(history.nowMs()), partitions };
}

function explain(
  inputLog: InputLog,
  logs: Map<string, LogEntry[]>,
  topic: string,
  partition: number,
  committed: string,
  published: ReadonlyMap<string, number>,
): StuckMessage {
  const at = atOrAfterStart(committed);
  const values = inputLog.valuesFrom(`${topic}/${partition}`, at);
  const first = values[0]?.offset === at ? values[0].value : undefined;
  const batches = new Set<string>();
  for (const { value } of values) {
    try {
      const id = (JSON.parse(value) as { data?: { batch_id?: unknown } }).data?.batch_id;
      if (typeof id === 'string') batches.add(id);
    } catch {
      // not an event: blocks, but belongs to no batch
    }
  }
  // The instance that logs failures of this very message, and its last error. When none does, the message
  // waits behind another: the last instance seen handling this partition, and the message its consumer keeps
  // failing (one consumer handles its partitions one batch at a time, so one stuck message holds them all).
  let best: { instance: string; attempts: number; lastError?: string; heldBy?: string } | undefined;
  let lastSeen: { instance: string; time: string } | undefined;
  for (const [instance, entries] of logs) {
    let attempts = 0;
    let lastError: string | undefined;
    for (const e of entries) {
      if (e.topic !== topic || e.partition !== partition) continue;
      if (lastSeen === undefined || (e.time ?? '') > lastSeen.time) lastSeen = { instance, time: e.time ?? '' };
      if (e.offset !== String(at) || e.err === undefined) continue;
      attempts++;
      lastError = `${e.msg ?? ''}: ${typeof e.err === 'string' ? e.err : JSON.stringify(e.err)}`.slice(0, 300);
    }
    if (attempts > (best?.attempts ?? 0)) best = { instance, attempts, ...(lastError !== undefined && { lastError }) };
  }
  if (!best && lastSeen) {
    const failing = new Map<string, number>();
    for (const e of logs.get(lastSeen.instance) ?? [])
      if (e.err !== undefined && e.offset !== undefined && e.topic !== undefined) {
        const k = `${e.topic}/${e.partition}@${e.offset}`;
        failing.set(k, (failing.get(k) ?? 0) + 1);
      }
    const held = [...failing].sort((a, b) => b[1] - a[1])[0];
    best = { instance: lastSeen.instance, attempts: 0, ...(held && { heldBy: held[0] }) };
  }
  const publishedAtMs = first === undefined ? undefined : published.get(first);
  return {
    ...(publishedAtMs !== undefined && { publishedAtMs: Math.round(publishedAtMs) }),
    ...(first !== undefined && {
      value: JSON.stringify(first.length > VALUE_SNIPPET ? `${first.slice(0, VALUE_SNIPPET)}…` : first),
    }),
    ...(best ? best : { attempts: 0 }),
    ...(batches.size > 0 && { batches: [...batches].sort().slice(0, 10) }),
  };
}

/** The fields of a coordinator log line (pino) this reads. */
interface LogEntry {
  time?: string;
  topic?: string;
  partition?: number;
  offset?: string;
  err?: unknown;
  msg?: string;
}

/** Each instance's log lines that name a partition. */
async function instanceLogs(dir: string): Promise<Map<string, LogEntry[]>> {
  const out = new Map<string, LogEntry[]>();
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (!f.endsWith('.log') || !f.startsWith('coordinator-')) continue;
    const entries: LogEntry[] = [];
    for (const line of (await readFile(join(dir, f), 'utf8').catch(() => '')).split('\n')) {
      if (!line.includes('"partition":')) continue;
      try {
        entries.push(JSON.parse(line) as LogEntry);
      } catch {
        // a partial line at the end of a log being written
      }
    }
    out.set(f.slice(0, -'.log'.length), entries);
  }
  return out;
}
