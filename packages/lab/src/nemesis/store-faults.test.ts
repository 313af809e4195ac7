/**
 * The store faults against the lab's real servers: during the fault a write
 * gets the refusal a failover or a slow script gives (READONLY, BUSY,
 * SQLSTATE 25006), through the clients the coordinator uses, in the shapes it
 * writes (a Lua script, a pooled session opened before the fault); after it,
 * writes work and the data written before is intact.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  BUSY_THRESHOLD_MS,
  EXPECTED_REFUSAL,
  postgresReadonly,
  redisBusy,
  redisOutOfMemory,
  redisReadonly,
  storeFaultTookEffect,
} from './store-faults.js';
import type { NemesisContext } from './types.js';
import { faultResources } from './catalogue.js';
import { RedisServer, type StartedRedisServer } from '../environment/local/redis-server.js';
import { PostgresServer, type StartedPostgresServer } from '../environment/local/postgres-server.js';
import { createWorkDir } from '../environment/local/work-dir.js';

/** The context the store faults read: the servers, and no instances to take metrics from. */
const contextOf = (env: { redis?: StartedRedisServer; postgres?: StartedPostgresServer }) =>
  ({ env, instances: { all: [] } }) as unknown as NemesisContext;

async function redisAt(url: string): Promise<Redis> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  await r.connect();
  return r;
}

/** The error a promise rejects with, as `CODE message`; `ok` when it resolves. */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );

/** A write as the coordinator makes it: a script that reads, then writes. */
const WRITE_SCRIPT = `redis.call('GET', KEYS[1]) return redis.call('SET', KEYS[1], ARGV[1])`;

async function withRedis(fn: (redis: StartedRedisServer) => Promise<void>): Promise<void> {
  await using dir = await createWorkDir();
  await using redis = await RedisServer.start({
    workDir: join(dir.path, 'redis'),
    logFile: join(dir.path, 'redis.log'),
  });
  await fn(redis);
}

describe('storeFaultTookEffect', () => {
  it('takes the probe write refused with the fault’s own error, and nothing else', () => {
    expect(
      storeFaultTookEffect('redis-readonly', { ok: false, code: 'READONLY', error: 'READONLY You can’t write' }),
    ).toBe(true);
    expect(storeFaultTookEffect('redis-busy', { ok: false, code: 'BUSY', error: 'BUSY Redis is busy' })).toBe(true);
    expect(
      storeFaultTookEffect('postgres-readonly', { ok: false, code: '25006', error: 'read-only transaction' }),
    ).toBe(true);
    expect(
      storeFaultTookEffect('redis-out-of-memory', {
        ok: false,
        code: 'OOM',
        error: "OOM command not allowed when used memory > 'maxmemory'.",
      }),
    ).toBe(true);
    expect(storeFaultTookEffect('redis-out-of-memory', { ok: false, code: 'READONLY' })).toBe(false);
    // The write went through: the store never refused.
    for (const kind of Object.keys(EXPECTED_REFUSAL) as (keyof typeof EXPECTED_REFUSAL)[])
      expect(storeFaultTookEffect(kind, { ok: true }), kind).toBe(false);
    // Another fault's refusal, a timeout, a lost connection: not this fault's doing.
    expect(storeFaultTookEffect('redis-readonly', { ok: false, code: 'BUSY' })).toBe(false);
    expect(storeFaultTookEffect('redis-busy', { ok: false, code: 'Command', error: 'Command timed out' })).toBe(false);
    expect(storeFaultTookEffect('postgres-readonly', { ok: false, error: 'Connection terminated unexpectedly' })).toBe(
      false,
    );
    expect(storeFaultTookEffect('postgres-readonly', { ok: false, code: '57P01' })).toBe(false);
    // Case matters: Redis's error words are upper case.
    expect(storeFaultTookEffect('redis-busy', { ok: false, code: 'busy' })).toBe(false);
  });
});

describe('store faults', () => {
  it('hold their store and every instance’s link to it, and run on every provider', () => {
    const ids = ['coordinator-1', 'coordinator-2'];
    for (const kind of ['redis-readonly', 'redis-busy', 'redis-out-of-memory'] as const)
      expect(faultResources({ kind }, ids)).toEqual([
        'store:redis',
        'link:redis:coordinator-1',
        'link:redis:coordinator-2',
      ]);
    expect(faultResources({ kind: 'postgres-readonly' }, ids)).toEqual([
      'store:postgres',
      'link:postgres:coordinator-1',
      'link:postgres:coordinator-2',
    ]);
    // The lab reaches the stores directly on either provider (a local port, a container's mapped port).
    for (const impl of [redisReadonly, redisBusy, redisOutOfMemory, postgresReadonly])
      expect(impl.unsupported).toBeUndefined();
  });

  it('redis-readonly: writes and writing scripts get READONLY, reads are served, and the data outlives it', async () => {
    await withRedis(async (redis) => {
      const r = await redisAt(redis.url);
      try {
        for (let i = 0; i < 100; i++) await r.set(`k${i}`, `v${i}`);
        await r.set('ttl', 'x', 'EX', 3600);
        const fault = await redisReadonly.start({ kind: 'redis-readonly' }, contextOf({ redis }));

        expect(await outcome(r.set('k0', 'changed'))).toMatch(/^READONLY /);
        expect(await outcome(r.eval(WRITE_SCRIPT, 1, 'k1', 'changed'))).toMatch(/^READONLY /);
        // replica-serve-stale-data (default yes): a replica that never reached its master answers reads.
        expect(await r.get('k2')).toBe('v2');
        expect(await r.info('replication')).toMatch(/role:slave[\s\S]*master_link_status:down/);

        const evidence = await fault.end();
        expect(evidence).toMatchObject({
          tookEffect: true,
          detail: { probe: { ok: false, code: 'READONLY' }, staleRead: true, writableAfter: true, dataKept: true },
        });
        expect(await r.info('replication')).toMatch(/role:master/);
        expect(await r.dbsize()).toBe(101);
        expect(await r.mget('k0', 'k1', 'k99')).toEqual(['v0', 'v1', 'v99']);
        expect(await r.ttl('ttl')).toBeGreaterThan(3500);
        expect(await r.eval(WRITE_SCRIPT, 1, 'k1', 'after')).toBe('OK');
        expect(await r.get('k1')).toBe('after');
      } finally {
        r.disconnect();
      }
    });
  }, 60_000);

  it('redis-out-of-memory: writes and writing scripts get OOM, reads and deletes are served, settings and data come back', async () => {
    await withRedis(async (redis) => {
      const r = await redisAt(redis.url);
      try {
        for (let i = 0; i < 100; i++) await r.set(`k${i}`, `v${i}`);
        await r.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
        const fault = await redisOutOfMemory.start({ kind: 'redis-out-of-memory' }, contextOf({ redis }));

        expect(await outcome(r.set('k0', 'changed'))).toMatch(/^OOM /);
        expect(await outcome(r.eval(WRITE_SCRIPT, 1, 'k1', 'changed'))).toMatch(/^OOM /);
        expect(await r.get('k2')).toBe('v2');
        // noeviction for the window: at its limit, Redis must not make room by deleting the coordinators' keys.
        expect(await r.call('CONFIG', 'GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
        expect(await r.dbsize()).toBe(101);

        const evidence = await fault.end();
        expect(evidence).toMatchObject({
          tookEffect: true,
          detail: {
            probe: { ok: false, code: 'OOM' },
            readServed: true,
            restored: { maxmemory: '0', 'maxmemory-policy': 'allkeys-lru' },
            writableAfter: true,
            dataKept: true,
          },
        });
        expect(await r.call('CONFIG', 'GET', 'maxmemory')).toEqual(['maxmemory', '0']);
        expect(await r.call('CONFIG', 'GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
        expect(await r.dbsize()).toBe(100);
        expect(await r.eval(WRITE_SCRIPT, 1, 'k1', 'after')).toBe('OK');
      } finally {
        r.disconnect();
      }
    });
  }, 60_000);

  it('redis-busy: other clients get BUSY while the script runs; it is killed at the end and the threshold restored', async () => {
    await withRedis(async (redis) => {
      const r = await redisAt(redis.url);
      try {
        await r.set('k', 'v');
        const threshold = await r.config('GET', 'busy-reply-threshold');
        const t0 = performance.now();
        const fault = await redisBusy.start({ kind: 'redis-busy' }, contextOf({ redis }));
        // BUSY within the fault's lowered threshold, not Redis's default 5 s.
        expect(performance.now() - t0).toBeLessThan(2000);
        expect(await outcome(r.set('k', 'changed'))).toMatch(/^BUSY /);
        expect(await outcome(r.eval(WRITE_SCRIPT, 1, 'k', 'changed'))).toMatch(/^BUSY /);
        expect(await outcome(r.get('k'))).toMatch(/^BUSY /);

        const evidence = await fault.end();
        expect(evidence).toMatchObject({
          tookEffect: true,
          detail: {
            probe: { ok: false, code: 'BUSY' },
            heldToEnd: true,
            threshold: { during: BUSY_THRESHOLD_MS },
            writableAfter: true,
            dataKept: true,
          },
        });
        expect(evidence.detail.script).toMatch(/SCRIPT KILL/);
        expect(evidence.detail.refusedWithinMs).toBeLessThan(1000);
        expect(await r.config('GET', 'busy-reply-threshold')).toEqual(threshold);
        expect(await r.get('k')).toBe('v');
        expect(await r.set('k', 'after')).toBe('OK');
      } finally {
        r.disconnect();
      }
    });
  }, 60_000);

  it('postgres-readonly: sessions open before it and new ones get 25006 on a write, and the data outlives it', async () => {
    await using dir = await createWorkDir();
    await using postgres = await PostgresServer.start({
      workDir: join(dir.path, 'postgres'),
      logFile: join(dir.path, 'postgres.log'),
    });
    const url = await postgres.createDatabase('store_faults');
    // As the coordinator's pool connects: a session setting given at connect time, the session kept open.
    const client = () => {
      const c = new pg.Client({ connectionString: url, statement_timeout: 5000 });
      c.on('error', () => {});
      return c;
    };
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (err: unknown) => (err as { code?: string }).code,
      );
    const open = client();
    const fresh = client();
    await open.connect();
    try {
      await open.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
      await open.query(`INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i`);
      const fault = await postgresReadonly.start({ kind: 'postgres-readonly' }, contextOf({ postgres }));
      let evidence;
      try {
        expect(await code(open.query(`INSERT INTO t VALUES (101, 'x')`))).toBe('25006');
        expect(await code(open.query(`UPDATE t SET v = 'x' WHERE id = 1`))).toBe('25006');
        await fresh.connect();
        expect(await code(fresh.query(`DELETE FROM t`))).toBe('25006');
        // Reads go on.
        expect((await open.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 100 }]);
      } finally {
        evidence = await fault.end();
      }
      expect(evidence).toMatchObject({
        tookEffect: true,
        detail: { probe: { ok: false, code: '25006' }, writableAfter: true },
      });
      // The very session that was refused writes again, without reconnecting.
      await open.query(`INSERT INTO t VALUES (101, 'after')`);
      const rows = (await open.query<{ id: number; v: string }>('SELECT id, v FROM t ORDER BY id')).rows;
      expect(rows).toHaveLength(101);
      expect(rows.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => ({ id: i + 1, v: `v${i + 1}` })));
      expect(rows[100]).toEqual({ id: 101, v: 'after' });
      expect((await fresh.query(`SHOW default_transaction_read_only`)).rows).toEqual([
        { default_transaction_read_only: 'off' },
      ]);
    } finally {
      await Promise.all([open.end().catch(() => {}), fresh.end().catch(() => {})]);
    }
  }, 60_000);
});
