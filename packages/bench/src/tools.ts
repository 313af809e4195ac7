/**
 * The dependencies' raw rates, each measured by its own tool against the
 * servers of a running pipeline stack:
 *
 * - Redis: `redis-benchmark` calling the coordinator's assign script by
 *   EVALSHA on a batch registered the way the coordinator registers one (its
 *   load script), every call with a new content id (`-r`, `__rand_int__`);
 * - Postgres: `pgbench` running the coordinator's write transaction for one
 *   assignment (see {@link PGBENCH_SCRIPT}) on its own schema;
 * - Kafka: `kcat` (librdkafka) producing ≈ 1 KB lines to a topic with as
 *   many partitions as an input topic.
 *
 * Every tool runs as a lab {@link ManagedProcess}, so it is stopped on every
 * exit path; each run checks afterwards that the work it counted was done
 * (slots assigned, rows written, offsets advanced) — a rate of no-ops would
 * flatter the dependency.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { batchKeyList, batchKeys } from '@chaos-lab/contracts';
import {
  LabError,
  LabTimeoutError,
  ManagedProcess,
  coordinatorEntry,
  createWorkDir,
  type StartedPipelineStack,
} from '@chaos-lab/lab';
import {
  kcatErrors,
  parseKcatOffsets,
  parsePgbench,
  parseRedisBenchmarkCsv,
  type PgbenchSummary,
  type RedisBenchmarkRow,
} from './parse.js';
import { median } from './goals.js';

/** A tool ran but its result cannot be trusted (it failed, or did less than it reported). */
export class BenchCheckError extends LabError {
  constructor(
    readonly tool: string,
    readonly detail: string,
  ) {
    super(`${tool}: ${detail}`);
  }
}

export interface ToolRun {
  readonly command: string;
  readonly exitCode: number | null;
  readonly output: string;
  readonly wallMs: number;
}

/** Runs a tool to its end (or stops it after `timeoutMs`); returns what it printed on stdout and stderr. */
export async function runTool(
  name: string,
  command: string,
  args: readonly string[],
  logFile: string,
  timeoutMs: number,
): Promise<ToolRun> {
  const t0 = performance.now();
  const p = await ManagedProcess.spawn({ name, command, args, logFile });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
  try {
    const r = await Promise.race([p.exited, timedOut]);
    const wallMs = performance.now() - t0;
    if (r === 'timeout') throw new LabTimeoutError(`${name} (${command} ${args.join(' ')})`, timeoutMs);
    await p.stop(); // closes the log once the output has drained
    return {
      command: [command, ...args].join(' '),
      exitCode: r.code,
      output: await readFile(logFile, 'utf8'),
      wallMs,
    };
  } finally {
    clearTimeout(timer);
    await p.stop();
  }
}

function expectExit0(tool: string, run: ToolRun): void {
  if (run.exitCode !== 0)
    throw new BenchCheckError(tool, `exited with ${run.exitCode}: ${run.output.slice(-500).trim()}`);
}

// ---- Redis ------------------------------------------------------------------

interface CoordinatorScripts {
  readonly ASSIGN_CONTENT: string;
  readonly LOAD_BATCH: string;
}

/** The coordinator's own Lua text, read from its build next to the entry point the lab starts. */
export async function coordinatorScripts(): Promise<CoordinatorScripts & { readonly path: string }> {
  const path = join(dirname(coordinatorEntry()), 'adapters', 'redis', 'lua.js');
  const m = (await import(pathToFileURL(path).href)) as Partial<Record<keyof CoordinatorScripts, unknown>>;
  if (typeof m.ASSIGN_CONTENT !== 'string' || typeof m.LOAD_BATCH !== 'string')
    throw new LabError(`${path} does not export the ASSIGN_CONTENT and LOAD_BATCH scripts; build the coordinator`);
  return { ASSIGN_CONTENT: m.ASSIGN_CONTENT, LOAD_BATCH: m.LOAD_BATCH, path };
}

export interface RedisRawResult {
  readonly command: string;
  readonly requests: number;
  readonly clients: number;
  readonly pipeline: number;
  readonly row: RedisBenchmarkRow;
  /** Contents the runs really assigned (HLEN of the batch's assign hash); `-r` collisions make a few repeats. */
  readonly assigned: number;
}

/** The coordinator's Redis key prefix (its default; the stack does not change it). */
const KEY_PREFIX = 'bc:';
const RAND_RANGE = 1_000_000_000; // redis-benchmark reads -r as an int: 10^12 overflows and every call repeats one id

export async function redisRaw(
  stack: StartedPipelineStack,
  logDir: string,
  runs: readonly { readonly requests: number; readonly clients: number; readonly pipeline: number }[],
): Promise<RedisRawResult[]> {
  const scripts = await coordinatorScripts();
  const url = new URL(stack.env.endpoints.redisUrl);
  const redis = new Redis(stack.env.endpoints.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  await redis.connect();
  const out: RedisRawResult[] = [];
  try {
    const sha = (await redis.script('LOAD', scripts.ASSIGN_CONTENT)) as string;
    for (const [i, run] of runs.entries()) {
      const batchId = `bench-redis-${i}`;
      const keys = batchKeyList(batchKeys(batchId, KEY_PREFIX));
      // As the coordinator registers a batch: its load script, every slot free.
      const free = Array.from({ length: run.requests }, (_, j) => `${batchId}-e${j}`);
      const loaded = await redis.eval(
        scripts.LOAD_BATCH,
        5,
        ...keys,
        'open',
        String(run.requests),
        JSON.stringify(free),
        '[]',
        '[]',
        '[]',
      );
      if (loaded !== 1) throw new BenchCheckError('redis', `batch ${batchId} was already loaded`);
      const args = [
        '-h', url.hostname, '-p', url.port || '6379',
        '-n', String(run.requests), '-c', String(run.clients), '-P', String(run.pipeline),
        '-r', String(RAND_RANGE), '--csv',
        'EVALSHA', sha, '5', ...keys, `${batchId}-t__rand_int__`,
      ]; // prettier-ignore
      const r = await runTool(
        'redis-benchmark',
        'redis-benchmark',
        args,
        join(logDir, `redis-benchmark-${i}.log`),
        120_000,
      );
      expectExit0('redis-benchmark', r);
      const row = parseRedisBenchmarkCsv(r.output)[0]!;
      const [assigned, excess] = await Promise.all([redis.hlen(keys[2]!), redis.hlen(keys[4]!)]);
      // Nearly every call must have taken a slot: repeats of a random id answer 'existing' (cheaper), and an
      // exhausted set would answer 'excess'. 1 % is far above the expected ≈ n²/2r collisions.
      if (excess !== 0 || assigned < run.requests * 0.99)
        throw new BenchCheckError(
          'redis-benchmark',
          `${assigned} of ${run.requests} calls assigned a slot, ${excess} excess`,
        );
      out.push({
        command: r.command,
        requests: run.requests,
        clients: run.clients,
        pipeline: run.pipeline,
        row,
        assigned,
      });
    }
  } finally {
    redis.disconnect();
  }
  return out;
}

// ---- Postgres ---------------------------------------------------------------

/**
 * The coordinator's write transaction for one slot assignment, as it sends
 * it: one call of the `bc_record_assignment` function its migrations install
 * (`PgBatchStore.recordAssignment` in apps/coordinator: the batch's advisory
 * lock, the batch and held-slot reads, the slot update, the pending-input
 * delete, the outbox row, the free-slot check and, on the last slot, closing
 * the batch with its batch-ready row). Client `c`'s n-th transaction assigns
 * slot `n mod 20` of its own batch `n div 20`, so no two transactions touch
 * one slot and every 20th one closes its batch. Differences, all small: ids
 * are built in SQL from numbers (pgbench has no string variables) and the
 * slot-assigned payload is built with jsonb_build_object instead of arriving
 * as JSON text. The coordinators are stopped before this runs, so no relay
 * publishes these outbox rows while pgbench measures.
 */
export const PGBENCH_SCRIPT = `\\set n :n + 1
\\set b :base + :client_id * 1000000 + (:n - 1) / 20
\\set e (:n - 1) % 20
SELECT * FROM bc_record_assignment('pgb-' || :b, 'pgb-' || :b || '-e' || :e, 'pgb-' || :b || '-t' || :e, 'essay-' || :e || '.txt', 'pgb-' || :b, 'bench.pgbench', gen_random_uuid(), jsonb_build_object('event_type', 'essay.slot.assigned.v1', 'correlation_id', 'pgb-' || :b, 'occurred_at', now()::text, 'data', jsonb_build_object('batch_id', 'pgb-' || :b, 'essay_id', 'pgb-' || :b || '-e' || :e, 'text_storage_id', 'pgb-' || :b || '-t' || :e, 'original_file_name', 'essay-' || :e || '.txt')), 'bench.pgbench', gen_random_uuid(), 'batch.ready.v1', now()::text);
`;

export interface PostgresRawResult {
  readonly command: string;
  readonly summary: PgbenchSummary;
  /** Slots the run assigned: must equal the transactions pgbench counted. */
  readonly assigned: number;
}

export async function postgresRaw(
  stack: StartedPipelineStack,
  logDir: string,
  opts: {
    readonly clients: number;
    readonly threads: number;
    readonly seconds: number;
    readonly batchesPerClient: number;
  },
): Promise<PostgresRawResult> {
  const url = stack.env.endpoints.postgresUrl;
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const base = 1_000_000_000; // the 'pgb-' id space; nothing else in the stack uses it
    // Batches of 20 free slots per client, registered the way the coordinator registers one.
    await db.query(
      `INSERT INTO batches (batch_id, expected_count, correlation_id)
         SELECT 'pgb-' || ($1::bigint + c * 1000000 + k), 20, 'pgb-' || ($1::bigint + c * 1000000 + k)
           FROM generate_series(0, $2::int - 1) c, generate_series(0, $3::int - 1) k`,
      [base, opts.clients, opts.batchesPerClient],
    );
    await db.query(
      `INSERT INTO slots (batch_id, essay_id)
         SELECT 'pgb-' || ($1::bigint + c * 1000000 + k), 'pgb-' || ($1::bigint + c * 1000000 + k) || '-e' || j
           FROM generate_series(0, $2::int - 1) c, generate_series(0, $3::int - 1) k, generate_series(0, 19) j`,
      [base, opts.clients, opts.batchesPerClient],
    );
    await db.query('ANALYZE batches; ANALYZE slots');
    const script = join(logDir, 'pgbench-assign.sql');
    await writeFile(script, PGBENCH_SCRIPT);
    const pgbench = '/usr/lib/postgresql/15/bin/pgbench';
    const args = [
      '-n', '-M', 'extended', '-f', script,
      '-c', String(opts.clients), '-j', String(opts.threads), '-T', String(opts.seconds),
      '-D', 'n=0', '-D', `base=${base}`, url,
    ]; // prettier-ignore
    const r = await runTool('pgbench', pgbench, args, join(logDir, 'pgbench.log'), (opts.seconds + 60) * 1000);
    expectExit0('pgbench', r);
    const summary = parsePgbench(r.output);
    const assigned = Number(
      (
        await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM slots WHERE batch_id LIKE 'pgb-%' AND state = 'assigned'`,
        )
      ).rows[0]?.n ?? 0,
    );
    if (summary.failed !== 0 || assigned !== summary.processed)
      throw new BenchCheckError(
        'pgbench',
        `${summary.processed} transactions counted, ${summary.failed} failed, ${assigned} slots assigned` +
          (assigned < summary.processed ? ' (a client ran out of prepared batches: raise batchesPerClient)' : ''),
      );
    return { command: r.command, summary, assigned };
  } finally {
    await db.end();
  }
}

// ---- Kafka ------------------------------------------------------------------

export interface KafkaRawResult {
  readonly command: string;
  readonly messages: number;
  readonly messageBytes: number;
  readonly runs: readonly { readonly wallMs: number; readonly rate: number }[];
  /** Median of the runs, messages per second (wall time of the kcat process, start-up included). */
  readonly rate: number;
  readonly delivered: number;
}

export async function kafkaRaw(
  stack: StartedPipelineStack,
  logDir: string,
  opts: { readonly messages: number; readonly runs: number; readonly partitions: number },
): Promise<KafkaRawResult> {
  const topic = 'lab.bench.kcat';
  await stack.env.kafka.createTopic(topic, opts.partitions);
  const brokers = stack.env.endpoints.kafkaBrokers.join(',');
  await using work = await createWorkDir('chaos-lab-bench-');
  const file = join(work.path, 'messages.txt');
  // ≈ 1 KB JSON lines, each different (a counter), like a content event with its envelope.
  const pad = 'x'.repeat(960);
  const lines: string[] = [];
  for (let i = 0; i < opts.messages; i++) lines.push(`{"i":${i},"event_type":"bench.kcat","pad":"${pad}"}`);
  await writeFile(file, lines.join('\n') + '\n');
  const messageBytes = Math.round(Buffer.byteLength(lines[0]!) + 1);
  const args = ['-P', '-b', brokers, '-t', topic, '-X', 'acks=all', '-l', file];
  const runs: { wallMs: number; rate: number }[] = [];
  let command = '';
  for (let i = 0; i < opts.runs; i++) {
    const r = await runTool('kcat', 'kcat', args, join(logDir, `kcat-${i}.log`), 120_000);
    expectExit0('kcat', r);
    const errors = kcatErrors(r.output);
    if (errors.length > 0) throw new BenchCheckError('kcat', `reported ${errors.length} errors: ${errors[0]}`);
    runs.push({ wallMs: r.wallMs, rate: (opts.messages * 1000) / r.wallMs });
    command = r.command;
  }
  const q = await runTool(
    'kcat-offsets',
    'kcat',
    ['-Q', '-b', brokers, ...Array.from({ length: opts.partitions }, (_, p) => ['-t', `${topic}:${p}:-1`]).flat()],
    join(logDir, 'kcat-offsets.log'),
    30_000,
  );
  expectExit0('kcat -Q', q);
  const delivered = [...parseKcatOffsets(q.output).values()].reduce((a, b) => a + b, 0);
  if (delivered !== opts.messages * opts.runs)
    throw new BenchCheckError('kcat', `${delivered} messages on ${topic}, ${opts.messages * opts.runs} produced`);
  return {
    command,
    messages: opts.messages,
    messageBytes,
    runs,
    rate: median(runs.map((r) => r.rate)),
    delivered,
  };
}
