/**
 * The known-bad variants really have their seed bugs, shown against a real
 * Redis and PostgreSQL started by the lab's environment code (as in
 * `domain/coordinator.integration.test.ts`, whose race test shows that
 * production gives exactly one slot where `check-then-act` gives several).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import pg from 'pg';
import { Redis } from 'ioredis';
import { batchKeys, topics } from '@chaos-lab/contracts';
import {
  createWorkDir,
  PostgresServer,
  RedisServer,
  type StartedPostgresServer,
  type StartedRedisServer,
  type WorkDir,
} from '@chaos-lab/lab';
import { Coordinator } from '../domain/coordinator.js';
import type { BatchSnapshot } from '../domain/ports.js';
import { PgBatchStore } from '../adapters/postgres/pg-store.js';
import { productionSteps } from '../adapters/postgres/settle-steps.js';
import { MIGRATIONS } from '../adapters/postgres/migrations.js';
import { RedisSlotCache } from '../adapters/redis/redis-cache.js';
import { createMetrics } from '../metrics.js';
import {
  cacheTrustingSteps,
  CheckThenActSlotCache,
  CONTENT_UNIQUE_CONSTRAINT,
  dropContentUnique,
} from './check-then-act.js';
import { InMemoryExpectations } from './in-memory-expectations.js';
import { WatchMultiExecSlotCache } from './watch-multi-exec.js';

let work: WorkDir;
let redis: StartedRedisServer;
let postgres: StartedPostgresServer;
const open: { close(): Promise<void> }[] = [];
const metrics = createMetrics('variants-it');
const silent = pino({ level: 'silent' });

function track<T extends RedisSlotCache | CheckThenActSlotCache | PgBatchStore>(x: T): T {
  open.push({ close: () => ('quit' in x ? x.quit() : x.close()) });
  return x;
}
const cacheOpts = (keyPrefix: string) => ({ url: redis.url, keyPrefix, commandTimeoutMs: 2000 });
const storeOpts = (url: string) => ({ url, poolSize: 5, statementTimeoutMs: 5000, topics: topics('t.') });
/** The variant's cache: a decorator, with a connection of its own, of production's. */
const checkThenActCache = (keyPrefix: string, m: ReturnType<typeof createMetrics>, hooks = {}) =>
  track(new CheckThenActSlotCache(track(new RedisSlotCache(cacheOpts(keyPrefix), m)), cacheOpts(keyPrefix), m, hooks));
/** The variant's store: production's, given the variant's assignment step. */
const cacheTrustingStore = (url: string, m: ReturnType<typeof createMetrics>) =>
  track(new PgBatchStore(storeOpts(url), m, cacheTrustingSteps(productionSteps)));

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const essays = (batchId: string, n: number) => Array.from({ length: n }, (_, i) => `${batchId}-e${i}`);
const content = (batchId: string, t: string) => ({
  batchId,
  textStorageId: t,
  originalFileName: `${t}.txt`,
  correlationId: 'c',
});
const register = (c: Coordinator, batchId: string, n: number) =>
  c.registerBatch({ batchId, essayIds: essays(batchId, n), deadline: undefined, correlationId: 'c' });

/** Resolves for everyone once `n` callers have arrived; later callers pass straight through. */
function lineUp(n: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return () => {
    if (++arrived >= n) release();
    return all;
  };
}

beforeAll(async () => {
  work = await createWorkDir();
  [redis, postgres] = await Promise.all([
    RedisServer.start({ workDir: join(work.path, 'redis'), logFile: join(work.path, 'redis.log') }),
    PostgresServer.start({ workDir: join(work.path, 'pg'), logFile: join(work.path, 'pg.log') }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(open.map((o) => o.close()));
  await Promise.allSettled([redis?.stop(), postgres?.stop()]);
  await work?.remove();
});

describe('watch-multi-exec', () => {
  it('never assigns: every EXEC is discarded because SPOP touched the watched free set; Lua assigns', async () => {
    const production = track(new RedisSlotCache(cacheOpts('wme:'), metrics));
    const variant = new WatchMultiExecSlotCache(production, cacheOpts('wme:'), metrics, {
      maxAttempts: 10,
      retryDelayMs: 1,
    });
    const b = 'wme';
    const snapshot: BatchSnapshot = {
      batchId: b,
      status: 'open',
      expected: 3,
      free: essays(b, 3),
      assigned: new Map(),
      failed: new Map(),
      excess: new Map(),
    };
    expect(await production.load(snapshot)).toBe(true);

    await expect(variant.assign(b, 't1')).rejects.toThrow('EXEC discarded 10 times in a row');
    // Ten rounds of "contention" left no trace: every slot free, nothing assigned, nothing counted.
    const raw = new Redis(redis.url);
    try {
      const k = batchKeys(b, 'wme:');
      expect(await raw.scard(k.free)).toBe(3);
      expect(await raw.hlen(k.assign)).toBe(0);
      expect(await raw.hget(k.meta, 'settled')).toBe('0');
    } finally {
      raw.disconnect();
    }

    const assigned = await production.assign(b, 't1');
    expect(assigned).toMatchObject({ kind: 'assigned', fresh: true });
    // The variant's reads are fine; only its write path is dead.
    expect(await variant.assign(b, 't1')).toEqual({ ...assigned, fresh: false });
  });
});

describe('check-then-act', () => {
  let dbUrl: string;
  beforeAll(async () => {
    dbUrl = await postgres.createDatabase('variant_check_then_act');
    const applied = await cacheTrustingStore(dbUrl, metrics).migrate();
    await dropContentUnique(storeOpts(dbUrl));
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('drops the unique (batch_id, text_storage_id) constraint at start-up', async () => {
    const constraints = await query<{ conname: string }>(
      dbUrl,
      `SELECT conname FROM pg_constraint WHERE conrelid = 'slots'::regclass AND contype = 'u'`,
    );
    expect(constraints.map((c) => c.conname)).not.toContain(CONTENT_UNIQUE_CONSTRAINT);
  });

  it('puts one content in several slots when 20 copies race across 3 instances', async () => {
    // All 20 first attempts HGET "not assigned" before any of them SPOPs.
    const betweenCheckAndAct = lineUp(20);
    const xs = ['c1', 'c2', 'c3'].map((name) => {
      const m = createMetrics(name);
      const cache = checkThenActCache('cta:', m, { betweenCheckAndAct });
      const store = cacheTrustingStore(dbUrl, m);
      return new Coordinator(cache, store, silent);
    });
    const b = 'cta';
    await register(xs[0]!, b, 5);
    // Some deliveries may give up after repeated conflicts (retriable in a service); the slots are what count.
    await Promise.allSettled(Array.from({ length: 20 }, (_, i) => xs[i % 3]!.provisionContent(content(b, 'same'))));
    const slots = await query<{ essay_id: string }>(
      dbUrl,
      `SELECT essay_id FROM slots WHERE batch_id = $1 AND text_storage_id = $2`,
      [b, 'same'],
    );
    expect(slots.length).toBeGreaterThan(1);
  });

  it('needs both halves: the same racing cache over the production store still gives one slot', async () => {
    const guardedUrl = await postgres.createDatabase('variant_check_then_act_guarded');
    const betweenCheckAndAct = lineUp(20);
    const xs = ['g1', 'g2', 'g3'].map((name) => {
      const m = createMetrics(name);
      const cache = checkThenActCache('ctag:', m, { betweenCheckAndAct });
      const store = track(new PgBatchStore(storeOpts(guardedUrl), m));
      return { cache, store, coordinator: new Coordinator(cache, store, silent) };
    });
    await xs[0]!.store.migrate();
    const b = 'cta-guarded';
    await register(xs[0]!.coordinator, b, 5);
    await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => xs[i % 3]!.coordinator.provisionContent(content(b, 'same'))),
    );
    const slots = await query(guardedUrl, `SELECT 1 FROM slots WHERE batch_id = $1 AND text_storage_id = $2`, [
      b,
      'same',
    ]);
    expect(slots).toHaveLength(1);
  });
});

describe('in-memory-expectations', () => {
  let dbUrl: string;
  beforeAll(async () => {
    dbUrl = await postgres.createDatabase('variant_in_memory');
    await track(new PgBatchStore(storeOpts(dbUrl), metrics)).migrate();
  });

  const instance = (name: string) => {
    const m = createMetrics(name);
    const cache = track(new RedisSlotCache(cacheOpts('mem:'), m));
    // The variant: production's store given the variant's completion step, behind its registration decorator.
    const memory = new InMemoryExpectations();
    const store = track(new PgBatchStore(storeOpts(dbUrl), m, memory.steps(productionSteps)));
    return new Coordinator(cache, memory.store(store), silent);
  };
  const status = async (b: string) =>
    (await query<{ status: string }>(dbUrl, 'SELECT status FROM batches WHERE batch_id = $1', [b]))[0]?.status;

  it('never completes a batch whose contents were handled by two instances', async () => {
    const [x, y] = [instance('m1'), instance('m2')];
    const b = 'mem-spread';
    await register(x, b, 4);
    for (const t of ['t1', 't2']) expect(await x.provisionContent(content(b, t))).toBe('assigned');
    for (const t of ['t3', 't4']) expect(await y.provisionContent(content(b, t))).toBe('assigned');
    expect(await query(dbUrl, `SELECT 1 FROM slots WHERE batch_id = $1 AND state = 'free'`, [b])).toHaveLength(0);
    expect(await status(b)).toBe('open');
    expect(await query(dbUrl, `SELECT 1 FROM outbox WHERE topic = 't.batch.ready' AND message_key = $1`, [b])).toEqual(
      [],
    );
  });

  it('completes a batch one instance handled from registration to last content', async () => {
    const x = instance('m3');
    const b = 'mem-local';
    await register(x, b, 2);
    for (const t of ['t1', 't2']) await x.provisionContent(content(b, t));
    expect(await status(b)).toBe('ready');
  });
});
