/**
 * Store faults: Redis or PostgreSQL up, reachable and holding all its data,
 * but refusing writes for a while — what a client meets during a failover or
 * behind a slow script, and must retry rather than take as final:
 *
 * - `redis-readonly`: Redis turned into a replica of a master it cannot
 *   reach (`REPLICAOF 127.0.0.1 1`). A replica that never connected to its
 *   master keeps its dataset and, with `replica-serve-stale-data` (default
 *   yes), answers reads; every write — and every script that writes — gets
 *   `READONLY`. `REPLICAOF NO ONE` at the end makes it a master again with
 *   the same data.
 * - `redis-busy`: a read-only Lua busy loop holds Redis; once it has run for
 *   `busy-reply-threshold` (set to {@link BUSY_THRESHOLD_MS} for the window,
 *   the old `lua-time-limit` alias, default 5 s) every other command gets
 *   `BUSY`. `SCRIPT KILL` ends it (a script that wrote nothing can be
 *   killed) and the threshold is set back.
 * - `redis-out-of-memory`: Redis at its memory limit with nothing to evict
 *   (`maxmemory-policy noeviction`, `maxmemory` 1 byte, below what any
 *   server uses): every write, and every script that may write, gets `OOM`;
 *   reads and deletes are served. Both settings are put back at the end.
 *   The coordinator's client takes `OOM` as passing, like `READONLY`.
 * - `postgres-readonly`: `ALTER SYSTEM SET default_transaction_read_only =
 *   on` and a reload: every new transaction, on sessions already open too
 *   (a backend applies a reload before its next command), is read-only, so
 *   a write fails with SQLSTATE 25006 as on a standby. Reset and reloaded at
 *   the end; the data is never touched.
 *
 * Evidence is a probe write through the lab's own connection (not through
 * an instance's link, so a link fault cannot fake it, nor this one a link
 * fault's): it must fail with the expected error during the window. Ending
 * checks the store took writes again and the data is intact (Redis: a key
 * written before the fault still holds its value), and fails loudly when
 * not — a store left refusing would be blamed on the system under test. The
 * instances' dependency errors over the window are recorded beside.
 *
 * The lab's connections reach the stores directly (a local server's port, a
 * container's mapped port), so the docker provider runs these as the local
 * one does.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { ActiveFault, FaultDefinition, NemesisContext } from './definition.js';
import { LabError } from '../errors.js';
import { dependencyDelta, snapshot } from './metrics.js';
import { storeHeld } from './resources.js';

/** Redis a replica of an unreachable master for the window: data kept, reads served, writes answered READONLY. */
export interface RedisReadonlySpec {
  readonly kind: 'redis-readonly';
}
/** A Lua busy loop holds Redis for the window: every other command answered BUSY. */
export interface RedisBusySpec {
  readonly kind: 'redis-busy';
}
/** Redis at its memory limit with nothing it may evict for the window: writes answered OOM, reads served. */
export interface RedisOutOfMemorySpec {
  readonly kind: 'redis-out-of-memory';
}
/** PostgreSQL's transactions read-only for the window (`default_transaction_read_only`): writes fail with 25006. */
export interface PostgresReadonlySpec {
  readonly kind: 'postgres-readonly';
}

/** The refusal each store fault must show on a probe write: its error's first word, or its SQLSTATE. */
export const EXPECTED_REFUSAL = {
  'redis-readonly': 'READONLY',
  'redis-busy': 'BUSY',
  'postgres-readonly': '25006',
  'redis-out-of-memory': 'OOM',
} as const;

/**
 * A store fault took effect when the probe write made during it was refused with the fault's own error
 * ({@link EXPECTED_REFUSAL}); any other failure (a timeout, a lost connection) is not this fault's doing.
 */
export function storeFaultTookEffect(kind: keyof typeof EXPECTED_REFUSAL, probe: ProbeWrite): boolean {
  return probe.code === EXPECTED_REFUSAL[kind];
}

/**
 * The master a read-only Redis is told to follow: a privileged port nothing in the lab (nor in a Redis container)
 * listens on. Were something to answer, it would not speak the replication handshake, so the replica would still
 * never load a dataset from it.
 */
export const UNREACHABLE_MASTER = { host: '127.0.0.1', port: 1 } as const;
/** `busy-reply-threshold` for a redis-busy window: others get BUSY this soon after the script starts. */
export const BUSY_THRESHOLD_MS = 100;
/**
 * How long the busy script runs at most when nobody kills it. Its end kills it before; the bound only frees Redis
 * should the lab die mid-fault (a fault planned longer than this holds Redis only this long: `heldToEnd` says so).
 */
export const BUSY_MAX_MS = 60_000;
/** How long a probe waits for a refusal to appear (a reload or a script start is asynchronous) or to go. */
const SETTLE_MS = 5_000;

/** A read-only busy loop on Redis's own clock, for ARGV[1] ms at most. */
const BUSY_SCRIPT = `
local function now() local t = redis.call('TIME') return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 end
local stop = now() + tonumber(ARGV[1])
while now() < stop do end
return 1`;

/** What one probe write met: `ok`, or the error's first word (`READONLY`, `BUSY`, a SQLSTATE) and message. */
export interface ProbeWrite {
  readonly ok: boolean;
  readonly code?: string;
  readonly error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Repeats `probe` until `done` holds for its result or the time is up; the last result. */
async function until(probe: () => Promise<ProbeWrite>, done: (p: ProbeWrite) => boolean): Promise<ProbeWrite> {
  const deadline = performance.now() + SETTLE_MS;
  for (;;) {
    const p = await probe();
    if (done(p) || performance.now() > deadline) return p;
    await sleep(50);
  }
}

function redisClient(ctx: NemesisContext): Redis {
  const r = new Redis(ctx.env.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  r.on('error', () => {});
  return r;
}

async function redisWrite(r: Redis, key: string): Promise<ProbeWrite> {
  try {
    await r.set(key, 'probe', 'PX', 60_000);
    return { ok: true };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { ok: false, code: error.split(/\s/, 1)[0]!, error };
  }
}

/** A Redis key written before the fault, to see that its data outlives it. */
async function redisSentinel(r: Redis, fault: string): Promise<{ key: string; value: string }> {
  const s = { key: `lab:nemesis:${fault}:${randomUUID()}`, value: randomUUID() };
  await r.set(s.key, s.value, 'EX', 3600);
  return s;
}

/** After a Redis fault: writable again and the sentinel intact, or an error saying what is left. */
async function redisRecovered(r: Redis, sentinel: { key: string; value: string }, fault: string) {
  const after = await until(
    () => redisWrite(r, `${sentinel.key}:after`),
    (p) => p.ok,
  );
  if (!after.ok) throw new LabError(`Redis still refuses writes after ${fault}: ${after.error}`);
  const kept = (await r.get(sentinel.key)) === sentinel.value;
  await r.del(sentinel.key, `${sentinel.key}:after`, `${sentinel.key}:probe`);
  if (!kept) throw new LabError(`Redis lost its data during ${fault} (key ${sentinel.key} is gone or changed)`);
  return { writableAfter: true, dataKept: kept };
}

export const redisReadonly: FaultDefinition<RedisReadonlySpec> = {
  kind: 'redis-readonly',
  family: 'store',
  description: 'Redis a replica of an unreachable master: reads served, writes answered READONLY',
  label: () => 'redis read-only (replica of an unreachable master)',
  holds: (_s, ids) => storeHeld('redis', ids),
  make: () => ({ kind: 'redis-readonly' }),
  async start(_spec, ctx): Promise<ActiveFault> {
    const r = redisClient(ctx);
    await r.connect();
    try {
      const before = await snapshot(ctx.instances.all);
      const sentinel = await redisSentinel(r, 'redis-readonly');
      await r.call('REPLICAOF', UNREACHABLE_MASTER.host, String(UNREACHABLE_MASTER.port));
      const during = await until(
        () => redisWrite(r, `${sentinel.key}:probe`),
        (p) => !p.ok,
      );
      // Stale reads are served: what the coordinators can still see of their state.
      const staleRead = (await r.get(sentinel.key)) === sentinel.value;
      return {
        async end() {
          try {
            await r.call('REPLICAOF', 'NO', 'ONE');
            const recovered = await redisRecovered(r, sentinel, 'redis-readonly');
            return {
              tookEffect: storeFaultTookEffect('redis-readonly', during),
              detail: {
                probe: during,
                staleRead,
                ...recovered,
                redis: dependencyDelta(before, await snapshot(ctx.instances.all), 'redis'),
              },
            };
          } finally {
            r.disconnect();
          }
        },
      };
    } catch (err) {
      // Never leave Redis a replica because the fault failed half-way.
      await r.call('REPLICAOF', 'NO', 'ONE').catch(() => undefined);
      r.disconnect();
      throw err;
    }
  },
};

/** `busy-reply-threshold` under the name Redis 6 and 7 both know. */
const THRESHOLD = 'lua-time-limit';

export const redisBusy: FaultDefinition<RedisBusySpec> = {
  kind: 'redis-busy',
  family: 'store',
  description: 'a Lua busy loop holds Redis: every other command answered BUSY',
  label: () => 'redis busy (a long Lua script)',
  holds: (_s, ids) => storeHeld('redis', ids),
  make: () => ({ kind: 'redis-busy' }),
  async start(_spec, ctx): Promise<ActiveFault> {
    const r = redisClient(ctx);
    // The script's own connection: its reply comes only when the script ends.
    const holder = redisClient(ctx);
    await Promise.all([r.connect(), holder.connect()]);
    let threshold = '5000';
    const restore = async () => {
      await r.call('SCRIPT', 'KILL').catch(() => undefined);
      await r.config('SET', THRESHOLD, threshold).catch(() => undefined);
    };
    try {
      const before = await snapshot(ctx.instances.all);
      const sentinel = await redisSentinel(r, 'redis-busy');
      threshold = ((await r.config('GET', THRESHOLD)) as string[])[1] ?? threshold;
      await r.config('SET', THRESHOLD, String(BUSY_THRESHOLD_MS));
      const t0 = performance.now();
      const script = holder.eval(BUSY_SCRIPT, 0, String(BUSY_MAX_MS)).then(
        () => 'ran out' as const,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      // Until the script has started, a probe write may still go through: then it is sent again.
      const during = await until(
        () => redisWrite(r, `${sentinel.key}:probe`),
        (p) => !p.ok,
      );
      const refusedWithinMs = Math.round(performance.now() - t0);
      return {
        async end() {
          try {
            const heldMs = Math.round(performance.now() - t0);
            const kill = await r.call('SCRIPT', 'KILL').then(
              (x) => String(x),
              (err: unknown) => (err instanceof Error ? err.message : String(err)),
            );
            const outcome = await script;
            await r.config('SET', THRESHOLD, threshold);
            const recovered = await redisRecovered(r, sentinel, 'redis-busy');
            return {
              tookEffect: storeFaultTookEffect('redis-busy', during),
              detail: {
                probe: during,
                refusedWithinMs,
                heldMs,
                heldToEnd: kill === 'OK',
                script: outcome,
                threshold: { during: BUSY_THRESHOLD_MS, restored: Number(threshold) },
                ...recovered,
                redis: dependencyDelta(before, await snapshot(ctx.instances.all), 'redis'),
              },
            };
          } finally {
            r.disconnect();
            holder.disconnect();
          }
        },
      };
    } catch (err) {
      await restore();
      r.disconnect();
      holder.disconnect();
      throw err;
    }
  },
};

/** The memory settings redis-out-of-memory changes, as Redis reported them before: put back at the end. */
async function redisMemorySettings(r: Redis): Promise<[string, string][]> {
  const read = async (name: string): Promise<[string, string]> => {
    const reply = (await r.call('CONFIG', 'GET', name)) as string[];
    if (reply[1] === undefined)
      throw new LabError(`Redis has no ${name} setting (CONFIG GET ${name}: ${JSON.stringify(reply)})`);
    return [name, reply[1]];
  };
  return [await read('maxmemory'), await read('maxmemory-policy')];
}

export const redisOutOfMemory: FaultDefinition<RedisOutOfMemorySpec> = {
  kind: 'redis-out-of-memory',
  family: 'store',
  description: 'Redis at its memory limit with nothing to evict: writes answered OOM, reads served',
  label: () => 'redis out of memory (maxmemory 1 byte, noeviction)',
  holds: (_s, ids) => storeHeld('redis', ids),
  make: () => ({ kind: 'redis-out-of-memory' }),
  async start(_spec, ctx): Promise<ActiveFault> {
    const r = redisClient(ctx);
    await r.connect();
    const saved = await redisMemorySettings(r).catch((err: unknown) => {
      r.disconnect();
      throw err;
    });
    const restore = async () => {
      for (const [name, value] of saved) await r.call('CONFIG', 'SET', name, value);
    };
    try {
      const before = await snapshot(ctx.instances.all);
      const sentinel = await redisSentinel(r, 'redis-out-of-memory');
      // The policy first: with maxmemory reached under an evicting policy, Redis would delete keys to make room.
      await r.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await r.call('CONFIG', 'SET', 'maxmemory', '1');
      const during = await until(
        () => redisWrite(r, `${sentinel.key}:probe`),
        (p) => !p.ok,
      );
      const readServed = (await r.get(sentinel.key)) === sentinel.value;
      return {
        async end() {
          try {
            await restore();
            const recovered = await redisRecovered(r, sentinel, 'redis-out-of-memory');
            return {
              tookEffect: storeFaultTookEffect('redis-out-of-memory', during),
              detail: {
                probe: during,
                readServed,
                restored: Object.fromEntries(saved),
                ...recovered,
                redis: dependencyDelta(before, await snapshot(ctx.instances.all), 'redis'),
              },
            };
          } finally {
            r.disconnect();
          }
        },
      };
    } catch (err) {
      // Never leave Redis refusing every write because the fault failed half-way.
      await restore().catch(() => undefined);
      r.disconnect();
      throw err;
    }
  },
};

function pgClient(ctx: NemesisContext, writable: boolean): pg.Client {
  const c = new pg.Client({
    connectionString: ctx.env.postgres.connectionString(),
    connectionTimeoutMillis: 5_000,
    // The lab's own session must be able to undo the fault: a session setting outranks the configuration file.
    ...(writable && { options: '-c default_transaction_read_only=off' }),
  });
  c.on('error', () => {});
  return c;
}

/** A write that leaves nothing behind: a temporary table (a CREATE, refused in a read-only transaction). */
async function pgWrite(c: pg.Client): Promise<ProbeWrite> {
  try {
    await c.query(`CREATE TEMP TABLE IF NOT EXISTS lab_nemesis_probe (x int); DROP TABLE lab_nemesis_probe`);
    return { ok: true };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return {
      ok: false,
      ...(typeof code === 'string' && { code }),
      error: err instanceof Error ? err.message : String(err),
    };
  }
}

export const postgresReadonly: FaultDefinition<PostgresReadonlySpec> = {
  kind: 'postgres-readonly',
  family: 'store',
  description: 'PostgreSQL transactions read-only (default_transaction_read_only): writes fail with 25006',
  label: () => 'postgres read-only (default_transaction_read_only)',
  holds: (_s, ids) => storeHeld('postgres', ids),
  make: () => ({ kind: 'postgres-readonly' }),
  async start(_spec, ctx): Promise<ActiveFault> {
    const admin = pgClient(ctx, true);
    // Opened before the fault, as the instances' pooled sessions are: the reload must reach it too.
    const session = pgClient(ctx, false);
    await Promise.all([admin.connect(), session.connect()]);
    const undo = async () => {
      await admin.query('ALTER SYSTEM RESET default_transaction_read_only');
      await admin.query('SELECT pg_reload_conf()');
    };
    try {
      const before = await snapshot(ctx.instances.all);
      await admin.query('ALTER SYSTEM SET default_transaction_read_only = on');
      await admin.query('SELECT pg_reload_conf()');
      const during = await until(
        () => pgWrite(session),
        (p) => !p.ok,
      );
      return {
        async end() {
          try {
            await undo();
            const after = await until(
              () => pgWrite(session),
              (p) => p.ok,
            );
            if (!after.ok)
              throw new LabError(`PostgreSQL still refuses writes after postgres-readonly: ${after.error}`);
            return {
              tookEffect: storeFaultTookEffect('postgres-readonly', during),
              detail: {
                probe: during,
                writableAfter: true,
                postgres: dependencyDelta(before, await snapshot(ctx.instances.all), 'postgres'),
              },
            };
          } finally {
            await Promise.all([admin.end().catch(() => {}), session.end().catch(() => {})]);
          }
        },
      };
    } catch (err) {
      await undo().catch(() => undefined);
      await Promise.all([admin.end().catch(() => {}), session.end().catch(() => {})]);
      throw err;
    }
  },
};
