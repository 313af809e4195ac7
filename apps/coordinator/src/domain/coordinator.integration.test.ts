/**
 * The domain logic against a real Redis and a real PostgreSQL started by the
 * lab's environment code: Lua scripts, constraints, the per-batch lock and
 * the rebuild-on-conflict protocol. Several Coordinator objects with their own
 * connection pools stand in for several instances.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import pg from 'pg';
import { Redis } from 'ioredis';
import { batchKeys, DeadLetter, eventIds, topics } from '@chaos-lab/contracts';
import {
  createWorkDir,
  PostgresServer,
  RedisServer,
  type StartedPostgresServer,
  type StartedRedisServer,
  type WorkDir,
} from '@chaos-lab/lab';
import { Coordinator, type CoordinatorOptions } from './coordinator.js';
import { isRetriable, SweepError } from '../errors.js';
import { PgBatchStore } from '../adapters/postgres/pg-store.js';
import { productionSteps } from '../adapters/postgres/settle-steps.js';
import { MIGRATIONS } from '../adapters/postgres/migrations.js';
import { RedisSlotCache } from '../adapters/redis/redis-cache.js';
import type { SettleItem, StoreWrite } from './ports.js';
import type { SettleInput } from './coordinator.js';
import { createMetrics } from '../metrics.js';

let work: WorkDir;
let redis: StartedRedisServer;
let postgres: StartedPostgresServer;
let dbUrl: string;
const open: { close(): Promise<void> }[] = [];

function instance(name: string, opts?: CoordinatorOptions) {
  const metrics = createMetrics(name);
  const store = new PgBatchStore({ url: dbUrl, poolSize: 5, statementTimeoutMs: 5000, topics: topics('t.') }, metrics);
  const cache = new RedisSlotCache({ url: redis.url, keyPrefix: 'it:', commandTimeoutMs: 2000 }, metrics);
  open.push({ close: () => store.close() }, { close: () => cache.quit() });
  return { store, cache, metrics, coordinator: new Coordinator(cache, store, pino({ level: 'silent' }), {}, opts) };
}

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const content = (batchId: string, t: string) => ({
  batchId,
  textStorageId: t,
  originalFileName: `${t}.txt`,
  correlationId: 'c',
});
const essays = (batchId: string, n: number) => Array.from({ length: n }, (_, i) => `${batchId}-e${i}`);

beforeAll(async () => {
  work = await createWorkDir();
  [redis, postgres] = await Promise.all([
    RedisServer.start({ workDir: join(work.path, 'redis'), logFile: join(work.path, 'redis.log') }),
    PostgresServer.start({ workDir: join(work.path, 'pg'), logFile: join(work.path, 'pg.log') }),
  ]);
  dbUrl = await postgres.createDatabase('coordinator_it');
  // Three stores migrating at once: the advisory lock must apply each version exactly once.
  const stores = [instance('m1'), instance('m2'), instance('m3')].map((x) => x.store);
  const applied = await Promise.all(stores.map((s) => s.migrate()));
  expect(applied.flat()).toEqual(MIGRATIONS.map((m) => m.version));
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(open.map((o) => o.close()));
  await Promise.allSettled([redis?.stop(), postgres?.stop()]);
  await work?.remove();
});

describe('Coordinator on real Redis and Postgres', () => {
  it('assigns idempotently, reports excess, and completes the batch exactly once', async () => {
    const { coordinator } = instance('a');
    const b = 'idem';
    await coordinator.registerBatch({ batchId: b, essayIds: essays(b, 2), deadline: undefined, correlationId: 'c' });
    expect(await coordinator.provisionContent(content(b, 't1'))).toBe('assigned');
    expect(await coordinator.provisionContent(content(b, 't1'))).toBe('assigned');
    expect(await coordinator.provisionContent(content(b, 't2'))).toBe('assigned');
    expect(await coordinator.provisionContent(content(b, 't3'))).toBe('excess');
    const slots = await query<{ text_storage_id: string }>(
      'SELECT text_storage_id FROM slots WHERE batch_id = $1 ORDER BY 1',
      [b],
    );
    expect(slots.map((s) => s.text_storage_id)).toEqual(['t1', 't2']);
    const ready = await query('SELECT event_id FROM outbox WHERE topic = $1 AND message_key = $2', [
      't.batch.ready',
      b,
    ]);
    expect(ready).toHaveLength(1);
    const excess = await query<{ reason: string }>('SELECT reason FROM excess_contents WHERE batch_id = $1', [b]);
    expect(excess).toEqual([{ reason: 'batch_closed' }]);
  });

  it('assigns one content exactly once when 20 copies race across 3 instances', async () => {
    const xs = [instance('r1'), instance('r2'), instance('r3')];
    const b = 'race';
    await xs[0]!.coordinator.registerBatch({
      batchId: b,
      essayIds: essays(b, 5),
      deadline: undefined,
      correlationId: 'c',
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => xs[i % 3]!.coordinator.provisionContent(content(b, 'same'))),
    );
    const slots = await query('SELECT essay_id FROM slots WHERE batch_id = $1 AND state = $2', [b, 'assigned']);
    expect(slots).toHaveLength(1);
    const events = await query('SELECT DISTINCT event_id FROM outbox WHERE topic = $1 AND message_key = $2', [
      't.essay.slot.assigned',
      b,
    ]);
    expect(events).toHaveLength(1);
  });

  it('parks content that arrives before its batch and assigns it at registration', async () => {
    const [x, y] = [instance('p1'), instance('p2')];
    const b = 'parked';
    expect(await x.coordinator.provisionContent(content(b, 'early'))).toBe('parked');
    expect(await x.coordinator.provisionContent(content(b, 'early'))).toBe('parked');
    await y.coordinator.registerBatch({ batchId: b, essayIds: essays(b, 3), deadline: undefined, correlationId: 'c' });
    const slots = await query('SELECT essay_id FROM slots WHERE batch_id = $1 AND text_storage_id = $2', [b, 'early']);
    expect(slots).toHaveLength(1);
    expect(await query('SELECT 1 FROM pending_inputs WHERE batch_id = $1', [b])).toHaveLength(0);
  });

  it('announces by one dead letter an input parked longer than the TTL, keeps it for a late registration, and forgets it after the retention', async () => {
    const opts = { parkedTtlMs: 1500, parkedRetentionMs: 3_600_000 };
    const [x, y] = [instance('orphan1', opts), instance('orphan2', opts)];
    const value = Buffer.from('{"a parked content\u0000": "its exact bytes"}');
    const src = { topic: 't.essay.content.provisioned', partition: 2, offset: '17', value, key: Buffer.from('late') };
    expect(await x.coordinator.provisionContent({ ...content('late', 'n1'), source: src })).toBe('parked');
    // A failure parked by an instance from before the source was kept: no position, no bytes.
    const failure = {
      batchId: 'late',
      originalFileName: 'empty.docx',
      uploadId: 'u-1',
      reason: 'empty file',
      correlationId: 'c',
    };
    expect(await x.coordinator.validationFailed(failure)).toBe('parked');
    expect(await x.coordinator.provisionContent(content('prompt', 'p1'))).toBe('parked');
    await x.coordinator.sweep();
    const orphanDls = async () =>
      (
        await query<{ event_id: string; payload: unknown }>(
          `SELECT event_id, payload FROM outbox WHERE topic = 't.coordinator.dead_letter'
              AND payload->'data'->>'unregistered_batch_id' IS NOT NULL ORDER BY event_id`,
        )
      ).map((r) => ({ id: r.event_id, dl: DeadLetter.parse(r.payload) }));
    expect(await orphanDls(), 'announced before its TTL').toEqual([]);
    // Registered within the TTL: drained as before, never announced.
    await y.coordinator.registerBatch({
      batchId: 'prompt',
      essayIds: essays('prompt', 2),
      deadline: undefined,
      correlationId: 'c',
    });
    await new Promise((r) => setTimeout(r, 1700));
    // Two instances sweep at once, twice: the batch lock and dead_lettered_at make each input one dead letter.
    await Promise.all([x.coordinator.sweep(), y.coordinator.sweep()]);
    await Promise.all([x.coordinator.sweep(), y.coordinator.sweep()]);
    const dls = await orphanDls();
    expect(dls.map((d) => d.dl.data.unregistered_batch_id)).toEqual(['late', 'late']);
    const byId = new Map(dls.map((d) => [d.id, d.dl.data]));
    const fromMessage = byId.get(eventIds.deadLetter(src.topic, 2, '17'));
    expect(fromMessage).toMatchObject({
      source_topic: src.topic,
      source_partition: 2,
      source_offset: '17',
      raw_base64: value.toString('base64'),
      raw_bytes: value.length,
      key_base64: Buffer.from('late').toString('base64'),
    });
    expect(fromMessage!.reason).toMatch(/^batch late was not registered within 2 s of this input .*; it stays parked/);
    expect(byId.get(eventIds.orphan('late', 'failure', 'upload:u-1'))).toMatchObject({
      source_topic: 't.essay.validation.failed',
      source_partition: -1,
      raw_bytes: 0,
    });
    expect(await query('SELECT 1 FROM pending_inputs WHERE batch_id = $1', ['late']), 'still parked').toHaveLength(2);
    // The registration comes after the TTL: nothing is lost, the announced inputs are assigned.
    await y.coordinator.registerBatch({
      batchId: 'late',
      essayIds: essays('late', 3),
      deadline: undefined,
      correlationId: 'c',
    });
    const settled = await query<{ state: string }>(
      `SELECT state FROM slots WHERE batch_id = 'late' AND state <> 'free' ORDER BY state`,
    );
    expect(settled.map((r) => r.state)).toEqual(['assigned', 'failed']);
    expect(await query('SELECT 1 FROM pending_inputs WHERE batch_id = $1', ['late'])).toHaveLength(0);

    // A batch that never comes: announced after the TTL, dropped after the retention.
    const short = instance('orphan3', { parkedTtlMs: 1000, parkedRetentionMs: 1000 });
    expect(await short.coordinator.provisionContent(content('never', 'v1'))).toBe('parked');
    await new Promise((r) => setTimeout(r, 1200));
    await short.coordinator.sweep();
    expect(
      await query('SELECT 1 FROM pending_inputs WHERE batch_id = $1 AND dead_lettered_at IS NOT NULL', ['never']),
    ).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1200));
    await short.coordinator.sweep();
    expect(await query('SELECT 1 FROM pending_inputs WHERE batch_id = $1', ['never'])).toHaveLength(0);
  });

  it('keeps in Redis an excess whose entry another instance dropped and rebuilt from a snapshot read before it committed (fuzz seed 32)', async () => {
    const [x, y] = [instance('excess-race-x'), instance('excess-race-y')];
    const b = 'excess-race';
    await x.coordinator.registerBatch({
      batchId: b,
      essayIds: essays(b, 2),
      deadline: new Date(Date.now() - 1000),
      correlationId: 'c',
    });
    await x.coordinator.sweep(); // timed out, and closed in Redis
    // x's step is held between the cache's proposal (excess: batch closed) and its Postgres write.
    let proposed!: () => void;
    const atProposal = new Promise<void>((r) => (proposed = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = Object.assign(Object.create(x.cache) as RedisSlotCache, {
      assign: async (batchId: string, t: string) => {
        const p = await x.cache.assign(batchId, t);
        proposed();
        await gate;
        return p;
      },
    });
    const racer = new Coordinator(held, x.store, pino({ level: 'silent' }));
    const step = racer.provisionContent(content(b, 't4'));
    await atProposal;
    await y.cache.invalidate(b); // y drops the entry (a conflict of its own) …
    const stale = await y.store.snapshot(b); // … and reads Postgres before x's write commits
    release();
    expect(await step).toBe('excess');
    await y.cache.load(stale!); // y's rebuild loads what it read
    const raw = new Redis(redis.url);
    try {
      expect(await raw.hget(batchKeys(b, 'it:').excess, 't4'), 'Redis lost an excess Postgres holds').toBe(
        'batch_closed',
      );
      expect(await raw.hget(batchKeys(b, 'it:').meta, 'status')).toBe('timed_out');
      expect(await raw.ttl(batchKeys(b, 'it:').excess)).toBeGreaterThan(0);
    } finally {
      raw.disconnect();
    }
  });

  it('gives every PostgreSQL client an error listener of its own, so a restart never finds one without (fuzz seed 13)', async () => {
    const x = instance('listeners');
    const pool = (x.store as unknown as { pool: pg.Pool }).pool;
    // Handed out by the pool, before any owner attached a listener: the moment a FATAL 57P01 killed a process.
    const c = await pool.connect();
    try {
      expect(c.listenerCount('error'), 'a checked-out client with no error listener').toBeGreaterThan(0);
    } finally {
      c.release();
    }
    // And a server that terminates every connection leaves the instance working.
    await query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '' AND pid <> pg_backend_pid() AND datname = current_database()`,
    );
    const register = () =>
      x.coordinator.registerBatch({
        batchId: 'after-terminate',
        essayIds: essays('after-terminate', 1),
        deadline: undefined,
        correlationId: 'c',
      });
    // The first call may meet a connection the pool has not yet seen die: it must fail as retriable (the consumer
    // retries it), and the next must work. (CI on 2abb337: the first call failed, and the test, which ignored the
    // failure, read no batch.)
    const first = await register().then(
      () => undefined,
      (err: unknown) => err,
    );
    if (first !== undefined) {
      expect(isRetriable(first), `not retriable: ${String(first)}`).toBe(true);
      await register();
    }
    expect(await x.store.snapshot('after-terminate')).toBeDefined();
  });

  it('loses and duplicates nothing when Redis is flushed mid-batch', async () => {
    const { coordinator } = instance('f');
    const b = 'flushed';
    await coordinator.registerBatch({ batchId: b, essayIds: essays(b, 6), deadline: undefined, correlationId: 'c' });
    for (const t of ['t1', 't2', 't3']) await coordinator.provisionContent(content(b, t));
    const raw = new Redis(redis.url);
    await raw.flushall();
    raw.disconnect();
    // A redelivery of an assigned content, then new ones: same slot for t2, no slot reused.
    await coordinator.provisionContent(content(b, 't2'));
    for (const t of ['t4', 't5', 't6', 't7']) await coordinator.provisionContent(content(b, t));
    const rows = await query<{ essay_id: string; text_storage_id: string }>(
      `SELECT essay_id, text_storage_id FROM slots WHERE batch_id = $1 AND state = 'assigned'`,
      [b],
    );
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((r) => r.essay_id)).size).toBe(6);
    expect(
      await query('SELECT 1 FROM excess_contents WHERE batch_id = $1 AND text_storage_id = $2', [b, 't7']),
    ).toHaveLength(1);
  });

  it('repairs a stale cache: a slot Redis thinks is free but Postgres holds is never handed out twice', async () => {
    const x = instance('s1');
    const y = instance('s2');
    const b = 'stale';
    await x.coordinator.registerBatch({ batchId: b, essayIds: essays(b, 2), deadline: undefined, correlationId: 'c' });
    const before = await x.store.snapshot(b);
    await x.coordinator.provisionContent(content(b, 'first'));
    // Redis loses the batch, then an old snapshot (taken before "first") is loaded back.
    const raw = new Redis(redis.url);
    await raw.flushall();
    raw.disconnect();
    const held = (
      await query<{ essay_id: string }>('SELECT essay_id FROM slots WHERE batch_id = $1 AND text_storage_id = $2', [
        b,
        'first',
      ])
    )[0]!.essay_id;
    // The stale entry offers exactly the slot Postgres gave to "first": the store must refuse it.
    await y.cache.load({ ...before!, free: [held] });
    await y.coordinator.provisionContent(content(b, 'second'));
    await y.coordinator.provisionContent(content(b, 'first'));
    const rows = await query<{ essay_id: string; text_storage_id: string }>(
      `SELECT essay_id, text_storage_id FROM slots WHERE batch_id = $1 ORDER BY text_storage_id`,
      [b],
    );
    expect(rows.map((r) => r.text_storage_id)).toEqual(['first', 'second']);
    expect(rows[0]!.essay_id).not.toBe(rows[1]!.essay_id);
  });

  it('closes in Redis a batch that a rebuild raced with its completion (found by redis-faults)', async () => {
    const x = instance('r1');
    const y = instance('r2');
    const b = 'raced';
    await x.coordinator.registerBatch({ batchId: b, essayIds: essays(b, 2), deadline: undefined, correlationId: 'c' });
    await x.coordinator.provisionContent(content(b, 'first'));
    // y reads Postgres for a rebuild while the batch is still open…
    const before = await y.store.snapshot(b);
    // …x completes it, Redis loses everything, and y loads what it read: the batch open, one slot free.
    await x.coordinator.provisionContent(content(b, 'last'));
    const raw = new Redis(redis.url);
    await raw.flushall();
    const held = (
      await query<{ essay_id: string }>('SELECT essay_id FROM slots WHERE batch_id = $1 AND text_storage_id = $2', [
        b,
        'last',
      ])
    )[0]!.essay_id;
    expect(before!.free).toEqual([held]);
    await y.cache.load(before!);
    // The redelivered last content fills that slot again: an idempotent success in Postgres, which says ready.
    await y.coordinator.provisionContent(content(b, 'last'));
    try {
      expect(await raw.hget(batchKeys(b, 'it:').meta, 'status')).toBe('ready');
    } finally {
      raw.disconnect();
    }
    expect(await query('SELECT status FROM batches WHERE batch_id = $1', [b])).toEqual([{ status: 'ready' }]);
  });

  it('leaves a closed batch in Redis as Postgres has it, even when a stale rebuild was loaded before the last write', async () => {
    // Bug 4 of issue 12, found by redis-faults seed 2 (Redis busy, restarted, read-only): a rebuild loads a snapshot
    // read before another write committed; the batch then completes through a slot the stale entry still shows
    // as free, and the close kept the stale picture for the closed entry's whole TTL. The last content takes one
    // of two free slots at random in Redis: ten batches make the stale path all but certain.
    const x = instance('s1');
    const y = instance('s2');
    const raw = new Redis(redis.url);
    try {
      for (let i = 0; i < 10; i++) {
        const b = `stale-close-${i}`;
        await x.coordinator.registerBatch({
          batchId: b,
          essayIds: essays(b, 2),
          deadline: undefined,
          correlationId: 'c',
        });
        const stale = await y.store.snapshot(b); // both slots free
        await x.coordinator.provisionContent(content(b, 'first'));
        await raw.del(...Object.values(batchKeys(b, 'it:')));
        await y.cache.load(stale!);
        await x.coordinator.provisionContent(content(b, 'last'));
        expect(await query('SELECT status FROM batches WHERE batch_id = $1', [b])).toEqual([{ status: 'ready' }]);
        const k = batchKeys(b, 'it:');
        const truth = await query<{ essay_id: string; text_storage_id: string }>(
          'SELECT essay_id, text_storage_id FROM slots WHERE batch_id = $1 ORDER BY essay_id',
          [b],
        );
        expect(
          {
            status: await raw.hget(k.meta, 'status'),
            free: await raw.smembers(k.free),
            assign: await raw.hgetall(k.assign),
          },
          b,
        ).toEqual({
          status: 'ready',
          free: [],
          assign: Object.fromEntries(truth.map((r) => [r.text_storage_id, r.essay_id])),
        });
        expect(await raw.ttl(k.meta), `${b}: a closed entry expires`).toBeGreaterThan(0);
      }
    } finally {
      raw.disconnect();
    }
  });

  it('settles validation failures once and times a batch out once across instances', async () => {
    const xs = [instance('d1'), instance('d2')];
    const b = 'deadline';
    await xs[0]!.coordinator.registerBatch({
      batchId: b,
      essayIds: essays(b, 3),
      deadline: new Date(Date.now() - 1000),
      correlationId: 'c',
    });
    const f = { batchId: b, originalFileName: 'bad.docx', reason: 'unreadable', correlationId: 'c' };
    expect(await xs[1]!.coordinator.validationFailed(f)).toBe('failure_settled');
    expect(await xs[0]!.coordinator.validationFailed(f)).toBe('failure_settled');
    await Promise.all(xs.map((x) => x.coordinator.sweep()));
    const batch = await query<{ status: string }>('SELECT status FROM batches WHERE batch_id = $1', [b]);
    expect(batch[0]!.status).toBe('timed_out');
    const outs = await query<{ payload: { data: { missing_essay_ids: string[] } } }>(
      'SELECT payload FROM outbox WHERE topic = $1 AND message_key = $2',
      ['t.batch.timed_out', b],
    );
    expect(outs).toHaveLength(1);
    expect(outs[0]!.payload.data.missing_essay_ids).toHaveLength(2);
    expect(await query(`SELECT 1 FROM slots WHERE batch_id = $1 AND state = 'failed'`, [b])).toHaveLength(1);
  });

  it('a sweep whose cache close fails times out every overdue batch, and a later sweep closes them in Redis', async () => {
    const good = instance('sweep-good');
    // An instance whose Redis is unreachable (a port nothing listens on): its time-outs commit in Postgres, its
    // cache closes fail.
    const metrics = createMetrics('sweep-cut');
    const cutStore = new PgBatchStore(
      { url: dbUrl, poolSize: 2, statementTimeoutMs: 5000, topics: topics('t.') },
      metrics,
    );
    const cutCache = new RedisSlotCache(
      { url: 'redis://127.0.0.1:1', keyPrefix: 'it:', commandTimeoutMs: 500 },
      metrics,
    );
    open.push({ close: () => cutStore.close() }, { close: () => cutCache.quit() });
    const cut = new Coordinator(cutCache, cutStore, pino({ level: 'silent' }));
    const ids = ['cut-1', 'cut-2'];
    for (const b of ids)
      await good.coordinator.registerBatch({
        batchId: b,
        essayIds: essays(b, 2),
        deadline: new Date(Date.now() - 1000),
        correlationId: 'c',
      });
    const sweep = await cut.sweep().then(
      () => undefined,
      (e: unknown) => e,
    );
    const statuses = await query<{ batch_id: string; status: string }>(
      'SELECT batch_id, status FROM batches WHERE batch_id = ANY($1) ORDER BY 1',
      [ids],
    );
    expect(
      statuses.map((r) => r.status),
      'the first failing close stopped the pass',
    ).toEqual(['timed_out', 'timed_out']);
    const raw = new Redis(redis.url);
    try {
      for (const b of ids) expect(await raw.hget(batchKeys(b, 'it:').meta, 'status')).toBe('open');
      await good.coordinator.sweep();
      for (const b of ids)
        expect(await raw.hget(batchKeys(b, 'it:').meta, 'status'), `${b} stays open in Redis for good`).toBe(
          'timed_out',
        );
    } finally {
      raw.disconnect();
    }
    // The pass failed, naming every batch step that did.
    expect(sweep).toBeInstanceOf(SweepError);
    expect((sweep as SweepError).failures.map((f) => `${f.step} ${f.batchId}`)).toEqual([
      'time-out cut-1',
      'time-out cut-2',
      'cache close cut-1',
      'cache close cut-2',
    ]);
  });

  it('a batch completed while its Redis close fails is closed in Redis by a later sweep (fuzz seed 58)', async () => {
    // Fuzz seed 58 on 2556b51: a parked content drained by a sweep completed its batch in Postgres while Redis
    // answered BUSY (a long script); the drain failed after the commit, no input was left to retry it, and Redis
    // kept the batch open for good. Here the same instance's Redis refuses only the close, as BUSY did.
    const good = instance('ready-good');
    const metrics = createMetrics('ready-busy');
    class BusyOnClose extends RedisSlotCache {
      override close(): Promise<boolean> {
        return Promise.reject(new Error('BUSY Redis is busy running a script (refused by the test)'));
      }
      override closeMany(): Promise<boolean[]> {
        return Promise.reject(new Error('BUSY Redis is busy running a script (refused by the test)'));
      }
    }
    const busyCache = new BusyOnClose({ url: redis.url, keyPrefix: 'it:', commandTimeoutMs: 2000 }, metrics);
    const busyStore = new PgBatchStore(
      { url: dbUrl, poolSize: 2, statementTimeoutMs: 5000, topics: topics('t.') },
      metrics,
    );
    open.push({ close: () => busyStore.close() }, { close: () => busyCache.quit() });
    const busy = new Coordinator(busyCache, busyStore, pino({ level: 'silent' }));
    const b = 'ready-busy';
    await good.coordinator.registerBatch({
      batchId: b,
      essayIds: essays(b, 1),
      deadline: undefined,
      correlationId: 'c',
    });
    await expect(busy.provisionContent(content(b, 't0'))).rejects.toThrow(/BUSY/);
    expect(await query(`SELECT status FROM batches WHERE batch_id = $1`, [b])).toEqual([{ status: 'ready' }]);
    const raw = new Redis(redis.url);
    try {
      expect(await raw.hget(batchKeys(b, 'it:').meta, 'status')).toBe('open');
      await good.coordinator.sweep();
      expect(await raw.hget(batchKeys(b, 'it:').meta, 'status'), 'Redis keeps a ready batch open for good').toBe(
        'ready',
      );
    } finally {
      raw.disconnect();
    }
  });

  it('starts on a read-only database: migrations wait for it to take writes instead of failing', async () => {
    // A standby's refusal, as the lab's postgres-readonly fault makes it: every transaction read-only, sessions
    // already open included (a reload applies before their next command).
    const readOnly = async (on: boolean) => {
      await query(
        on ? 'ALTER SYSTEM SET default_transaction_read_only = on' : 'ALTER SYSTEM RESET default_transaction_read_only',
      );
      await query('SELECT pg_reload_conf()');
    };
    const store = (name: string, url: string) => {
      const s = new PgBatchStore(
        { url, poolSize: 1, statementTimeoutMs: 5000, topics: topics('t.') },
        createMetrics(name),
      );
      open.push({ close: () => s.close() });
      return s;
    };
    const promotedUrl = await postgres.createDatabase('coordinator_standby');
    const stuckUrl = await postgres.createDatabase('coordinator_standby_2');
    await readOnly(true);
    try {
      const retries: string[] = [];
      const promoted = new Promise<void>((resolve) => setTimeout(() => void readOnly(false).then(resolve), 1500));
      const applied = await store('standby', promotedUrl).migrateWhenWritable(20_000, (err) =>
        retries.push(String(err)),
      );
      await promoted;
      expect(retries.length, 'the first attempt met the read-only database').toBeGreaterThan(0);
      expect(retries[0]).toMatch(/read-only transaction/);
      expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
      // A refusal that outlasts the bound is still an error, not a hang.
      await readOnly(true);
      await expect(store('standby-2', stuckUrl).migrateWhenWritable(800, () => {})).rejects.toThrow(
        /read-only transaction/,
      );
    } finally {
      await readOnly(false);
    }
  });

  it("judges deadlines by Postgres' clock: an instance an hour ahead closes nothing early, one behind nothing late", async () => {
    const x = instance('skew');
    const soon = 'deadline-soon';
    const passed = 'deadline-passed';
    await x.coordinator.registerBatch({
      batchId: soon,
      essayIds: essays(soon, 2),
      deadline: new Date(Date.now() + 60_000),
      correlationId: 'c',
    });
    await x.coordinator.registerBatch({
      batchId: passed,
      essayIds: essays(passed, 2),
      deadline: new Date(Date.now() - 1000),
      correlationId: 'c',
    });
    const status = async (b: string) =>
      (await query<{ status: string }>('SELECT status FROM batches WHERE batch_id = $1', [b]))[0]!.status;
    // Only Date is faked: the instance's clock, as libfaketime moves it in the lab; its timers and sockets run.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 3_600_000);
      await x.coordinator.sweep();
      expect(await status(soon), 'an instance ahead timed out a batch a minute before its deadline').toBe('open');
      vi.setSystemTime(Date.now() - 2 * 3_600_000);
      await x.coordinator.sweep();
      expect(await status(passed), 'an instance behind left an overdue batch open').toBe('timed_out');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('record_assignment as one server-side function', () => {
  it('answers and writes exactly what the stepwise transaction does, outbox payloads included', async () => {
    const fast = instance('fn').store;
    // Given production's steps, the store runs them statement by statement: the transaction the one-round-trip
    // function must match write for write.
    const slow = new PgBatchStore(
      { url: dbUrl, poolSize: 2, statementTimeoutMs: 5000, topics: topics('t.') },
      createMetrics('stepwise'),
      productionSteps,
    );
    open.push({ close: () => slow.close() });
    // The same story told to both: four slots, a v1 and a v2 failure of one file name, a redelivery, a content
    // offered a second slot, a slot already taken, the last slot completing the batch, then a write into the
    // closed batch.
    const story = async (store: PgBatchStore, b: string) => {
      await store.register({ batchId: b, essayIds: essays(b, 4), deadline: undefined, correlationId: 'c-reg' });
      const out: unknown[] = [];
      out.push(
        await store.recordFailure(
          { batchId: b, originalFileName: 'bad.txt', reason: 'empty', correlationId: 'c' },
          `${b}-e2`,
        ),
      );
      out.push(
        await store.recordFailure(
          { batchId: b, originalFileName: 'bad.txt', uploadId: 'u1', reason: 'empty', correlationId: 'c' },
          `${b}-e3`,
        ),
      );
      out.push(await store.recordAssignment(content(b, 't1'), `${b}-e0`));
      out.push(await store.recordAssignment(content(b, 't1'), `${b}-e0`));
      out.push(await store.recordAssignment(content(b, 't1'), `${b}-e1`));
      out.push(await store.recordAssignment(content(b, 't2'), `${b}-e0`));
      out.push(await store.recordAssignment(content(b, 't2'), `${b}-e1`));
      out.push(await store.recordAssignment(content(b, 't3'), `${b}-e1`));
      out.push(await store.recordAssignment(content('never-registered', 't9'), 'never-registered-e0'));
      const slots = await query(
        `SELECT essay_id, state, text_storage_id, original_file_name, upload_id, failure_reason, correlation_id FROM slots
          WHERE batch_id = $1 ORDER BY essay_id`,
        [b],
      );
      const outbox = await query<{ topic: string; message_key: string; payload: Record<string, unknown> }>(
        `SELECT topic, message_key, payload FROM outbox WHERE message_key = $1 ORDER BY id`,
        [b],
      );
      const batch = await query(`SELECT status, closed_at IS NOT NULL AS closed FROM batches WHERE batch_id = $1`, [b]);
      // Ids and times are the only differences allowed: ids are derived from the batch, times are times.
      const same = (x: unknown) =>
        JSON.parse(
          JSON.stringify(x)
            .replaceAll(b, 'B')
            .replace(/"occurred_at":"[^"]+"/g, '"occurred_at":"T"')
            .replace(/"event_id":"[^"]+"/g, '"event_id":"ID"'),
        ) as unknown;
      return same({ out, slots, outbox, batch });
    };
    const viaFunction = await story(fast, 'fn-batch');
    const viaSteps = await story(slow, 'steps-batch');
    expect(viaFunction).toEqual(viaSteps);
    // And the story is what it says: the last slot completed the batch, announced once, with both essays and
    // both failures, the v2 one with its upload id.
    const ready = (
      viaFunction as {
        outbox: { topic: string; payload: { data: { essays: unknown[]; validation_failures: unknown[] } } }[];
      }
    ).outbox.filter((r) => r.topic === 't.batch.ready');
    expect(ready).toHaveLength(1);
    expect(ready[0]!.payload.data.essays).toHaveLength(2);
    expect(ready[0]!.payload.data.validation_failures).toEqual([
      { essay_id: 'B-e2', original_file_name: 'bad.txt', reason: 'empty' },
      { essay_id: 'B-e3', original_file_name: 'bad.txt', reason: 'empty', upload_id: 'u1' },
    ]);
    expect((viaFunction as { out: { kind: string }[] }).out.map((o) => o.kind)).toEqual([
      'recorded', // the v1 failure settles e2
      'recorded', // the v2 failure of the same file name settles e3
      'recorded', // t1 → e0
      'recorded', // t1 → e0 again: idempotent
      'conflict', // t1 → e1: t1 holds e0
      'conflict', // t2 → e0: taken
      'recorded', // t2 → e1: the last slot, completes the batch
      'conflict', // t3 → e1: the batch is ready
      'unregistered',
    ]);
  });
});

describe('the sweep agenda', () => {
  it('reads in one statement exactly the lists the sweep steps read one by one', async () => {
    const { store } = instance('agenda');
    const past = new Date(Date.now() - 60_000);
    // Overdue: open past its deadline. Closed with its cache open: timed out, its cache close not done.
    await store.register({
      batchId: 'ag-overdue',
      essayIds: essays('ag-overdue', 2),
      deadline: past,
      correlationId: 'c',
    });
    await store.register({
      batchId: 'ag-closed',
      essayIds: essays('ag-closed', 2),
      deadline: past,
      correlationId: 'c',
    });
    expect(await store.timeOut('ag-closed')).toBe(true);
    // Pending: parked, then registered without the drain. Expired: parked for a batch never registered.
    expect(await store.parkContent(content('ag-pending', 'p1'))).toBe('parked');
    await store.register({
      batchId: 'ag-pending',
      essayIds: essays('ag-pending', 2),
      deadline: undefined,
      correlationId: 'c',
    });
    expect(await store.parkContent(content('ag-never', 'n1'))).toBe('parked');
    expect(await store.parkContent(content('ag-announced', 'a1'))).toBe('parked');
    await new Promise((r) => setTimeout(r, 20));
    expect(await store.announceExpiredParking('ag-announced', 1, 1)).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    const [ttl, retention] = [5, 5];
    const agenda = await store.sweepAgenda(50, ttl, retention);
    expect(agenda).toEqual({
      overdue: await store.overdueBatches(50),
      closedWithCacheOpen: await store.closedWithCacheOpen(50),
      withPending: await store.batchesWithPending(50),
      unregisteredWithExpiredParking: await store.unregisteredWithExpiredParking(ttl, 50),
      parkingToForget: true,
    });
    expect(agenda.overdue).toContain('ag-overdue');
    expect(agenda.closedWithCacheOpen).toContainEqual({ batchId: 'ag-closed', status: 'timed_out' });
    expect(agenda.withPending).toContain('ag-pending');
    expect(agenda.unregisteredWithExpiredParking).toContain('ag-never');
    expect(await store.forgetAnnouncedParking(retention, 500)).toBeGreaterThan(0);
    expect((await store.sweepAgenda(50, ttl, retention)).parkingToForget).toBe(false);
  });
});

describe('settle_many: a fetched batch in one transaction', () => {
  const failure = (batchId: string, name: string, uploadId?: string) => ({
    batchId,
    originalFileName: name,
    ...(uploadId !== undefined && { uploadId }),
    reason: 'empty',
    correlationId: 'c',
  });
  /**
   * One story over two batches, interleaved: failures v1 and v2 of one file name, an assignment and its
   * redelivery, a content offered a second slot, a slot already taken, excess proposals a free slot contradicts,
   * the last slot completing each batch, writes into the closed batches (assignment, excess twice, excess
   * failure), and an unregistered batch.
   */
  const story = (a: string, b: string): SettleItem[] => [
    { op: 'failure', input: failure(a, 'bad.txt'), essayId: `${a}-e2` },
    { op: 'assign', input: content(b, 'x1'), essayId: `${b}-e0` },
    { op: 'failure', input: failure(a, 'bad.txt', 'u1'), essayId: `${a}-e3` },
    { op: 'assign', input: content(a, 't1'), essayId: `${a}-e0` },
    { op: 'assign', input: content(a, 't1'), essayId: `${a}-e0` },
    { op: 'assign', input: content(a, 't1'), essayId: `${a}-e1` },
    { op: 'assign', input: content(a, 't2'), essayId: `${a}-e0` },
    { op: 'excess', input: content(a, 't5'), proposed: 'no_free_slot' },
    { op: 'excess_failure', input: failure(a, 'x.txt') },
    { op: 'failure', input: failure(a, 'bad.txt'), essayId: `${a}-e2` },
    { op: 'failure', input: failure(a, 'bad.txt', 'u1'), essayId: `${a}-e1` },
    { op: 'excess', input: content(b, 'x2'), proposed: 'no_free_slot' },
    { op: 'assign', input: content(a, 't2'), essayId: `${a}-e1` },
    { op: 'assign', input: content(a, 't3'), essayId: `${a}-e1` },
    { op: 'excess', input: content(a, 't3'), proposed: 'batch_closed' },
    { op: 'excess', input: content(a, 't3'), proposed: 'batch_closed' },
    { op: 'excess_failure', input: failure(a, 'late.txt', 'u9') },
    { op: 'assign', input: content('never-registered', 't9'), essayId: 'never-registered-e0' },
  ];

  async function told(store: PgBatchStore, a: string, b: string, at: (items: SettleItem[]) => Promise<StoreWrite[]>) {
    await store.register({ batchId: a, essayIds: essays(a, 4), deadline: undefined, correlationId: 'c-reg' });
    await store.register({ batchId: b, essayIds: essays(b, 1), deadline: undefined, correlationId: 'c-reg-b' });
    const out = await at(story(a, b));
    const rows = async (sql: string) => ({
      a: await query(sql, [a]),
      b: await query(sql, [b]),
    });
    const tables = {
      slots: await rows(
        `SELECT essay_id, state, text_storage_id, original_file_name, upload_id, failure_reason, correlation_id
           FROM slots WHERE batch_id = $1 ORDER BY essay_id`,
      ),
      excess: await rows(
        'SELECT text_storage_id, original_file_name, reason FROM excess_contents WHERE batch_id = $1 ORDER BY 1',
      ),
      excessFailures: await rows(
        'SELECT original_file_name, upload_id, reason FROM excess_failures WHERE batch_id = $1 ORDER BY 1',
      ),
      outbox: await rows('SELECT topic, message_key, payload FROM outbox WHERE message_key = $1 ORDER BY id'),
      batches: await rows(
        'SELECT status, closed_at IS NOT NULL AS closed, cache_open FROM batches WHERE batch_id = $1',
      ),
    };
    // Ids and times are the only differences allowed: ids are derived from the batch, times are times.
    return JSON.parse(
      JSON.stringify({ out, tables })
        .replaceAll(a, 'A')
        .replaceAll(b, 'B')
        .replace(/"occurred_at":"[^"]+"/g, '"occurred_at":"T"')
        .replace(/"event_id":"[^"]+"/g, '"event_id":"ID"'),
    ) as { out: StoreWrite[]; tables: { outbox: { a: { topic: string; payload: { data: unknown } }[] } } };
  }

  /** Each item through its one-input write, one transaction each. */
  const oneByOne = (store: PgBatchStore) => async (items: SettleItem[]) => {
    const out: StoreWrite[] = [];
    for (const it of items)
      out.push(
        it.op === 'assign'
          ? await store.recordAssignment(it.input, it.essayId)
          : it.op === 'excess'
            ? await store.recordExcess(it.input, it.proposed)
            : it.op === 'failure'
              ? await store.recordFailure(it.input, it.essayId)
              : await store.recordExcessFailure(it.input),
      );
    return out;
  };

  it('answers and writes exactly what the one-input writes do, one after the other, outbox payloads included', async () => {
    const store = instance('settle-many').store;
    const many = await told(store, 'sm-a', 'sm-b', (items) => store.settleMany(items));
    const single = await told(store, 'pm-a', 'pm-b', oneByOne(store));
    expect(many).toEqual(single);
    // And the story is what it says.
    expect(
      many.out.map((o) => (o.kind === 'recorded' ? `recorded${o.completed ? '+completed' : ''}` : o.kind)),
    ).toEqual([
      'recorded', // v1 failure settles A-e2
      'recorded+completed', // x1 fills B's only slot
      'recorded', // v2 failure of the same file name settles A-e3
      'recorded', // t1 → A-e0
      'recorded', // t1 → A-e0 again: idempotent
      'conflict', // t1 → A-e1: t1 holds A-e0
      'conflict', // t2 → A-e0: taken
      'conflict', // t5 excess, but A-e1 is free
      'conflict', // excess failure, but A-e1 is free
      'recorded', // the v1 failure again: idempotent
      'conflict', // the v2 failure offered A-e1: it holds A-e3
      'recorded', // x2 into B, ready: excess, batch_closed
      'recorded+completed', // t2 → A-e1, the last slot
      'conflict', // t3 → A-e1: A is ready
      'recorded', // t3 excess: batch_closed
      'recorded', // t3 excess again: its first reason kept, one row, one event
      'recorded', // an excess failure into the closed batch
      'unregistered',
    ]);
    expect(many.tables.outbox.a.filter((r) => r.topic === 't.batch.ready')).toHaveLength(1);
  });

  it('a run through the coordinator: one answer per input, excess and completion as one at a time, and again on redelivery', async () => {
    const { coordinator, cache } = instance('run');
    const [a, b] = ['run-a', 'run-b'];
    await coordinator.registerBatch({ batchId: a, essayIds: essays(a, 3), deadline: undefined, correlationId: 'c' });
    await coordinator.registerBatch({ batchId: b, essayIds: essays(b, 2), deadline: undefined, correlationId: 'c' });
    const run: SettleInput[] = [
      { kind: 'content', input: content(a, 't1') },
      { kind: 'content', input: content(b, 'u1') },
      { kind: 'failure', input: failure(a, 'bad.txt', 'up1') },
      { kind: 'content', input: content(a, 't1') },
      { kind: 'content', input: content(a, 't2') },
      { kind: 'content', input: content(a, 't3') },
      { kind: 'failure', input: failure(a, 'late.txt', 'up2') },
    ];
    const expected = ['assigned', 'assigned', 'failure_settled', 'assigned', 'assigned', 'excess', 'failure_excess'];
    expect(await coordinator.settleMany(run)).toEqual(expected);
    // A completed here, closed in Redis as Postgres has it; B still open.
    const raw = new Redis(redis.url);
    const meta = (id: string) => raw.hget(batchKeys(id, 'it:').meta, 'status');
    expect(await meta(a)).toBe('ready');
    expect(await meta(b)).toBe('open');
    raw.disconnect();
    expect(await query('SELECT cache_open FROM batches WHERE batch_id = $1', [a])).toEqual([{ cache_open: false }]);
    // Redelivered whole (a crash before the offsets were committed): the same answers, nothing written twice.
    expect(await coordinator.settleMany(run)).toEqual(expected);
    const outbox = await query<{ topic: string }>('SELECT topic FROM outbox WHERE message_key = $1 ORDER BY id', [a]);
    expect(outbox.map((r) => r.topic)).toEqual([
      't.essay.slot.assigned',
      't.essay.slot.assigned',
      't.batch.ready',
      't.essay.content.excess',
    ]);
    // And the one-input path agrees with what the run left.
    expect(await coordinator.provisionContent(content(a, 't2'))).toBe('assigned');
    expect(await coordinator.provisionContent(content(b, 'u2'))).toBe('assigned');
    expect(await cache.proposeMany([{ batchId: b, inputs: [{ kind: 'content', key: 'u3' }] }])).toEqual([
      [{ kind: 'excess', reason: 'batch_closed' }],
    ]);
  });

  it('closes every batch a run completes, each as Postgres has it, in four round trips whatever their number', async () => {
    const { cache, store, metrics } = instance('closes');
    const closed: string[] = [];
    const coordinator = new Coordinator(cache, store, pino({ level: 'silent' }), {
      onBatchClosed: (id, status) => closed.push(`${id}:${status}`),
    });
    const ids = ['closes-a', 'closes-b', 'closes-c', 'closes-d', 'closes-stale'];
    for (const id of ids)
      await coordinator.registerBatch({
        batchId: id,
        essayIds: essays(id, 2),
        deadline: undefined,
        correlationId: 'c',
      });
    // "stale" is completed in Postgres while its Redis entry, rebuilt from a snapshot read before, shows it open
    // with a filled slot free: a redelivered content completes nothing and must close it as Postgres has it.
    const staleBefore = (await store.snapshot('closes-stale'))!;
    expect(
      await coordinator.settleMany([
        { kind: 'content', input: content('closes-stale', 's1') },
        { kind: 'content', input: content('closes-stale', 's2') },
      ]),
    ).toEqual(['assigned', 'assigned']);
    const s1Slot = (await store.snapshot('closes-stale'))!.assigned.get('s1')!;
    await cache.invalidate('closes-stale');
    await cache.load({ ...staleBefore, assigned: new Map([['s1', s1Slot]]) });
    closed.length = 0;
    metrics.dependencyLatency.reset();
    const run: SettleInput[] = [
      ...['closes-a', 'closes-b', 'closes-c'].flatMap((id) => [
        { kind: 'content' as const, input: content(id, `${id}-1`) },
        { kind: 'content' as const, input: content(id, `${id}-2`) },
      ]),
      { kind: 'content', input: content('closes-d', 'd-1') },
      { kind: 'content', input: content('closes-stale', 's1') },
    ];
    expect(await coordinator.settleMany(run)).toEqual(run.map(() => 'assigned'));
    expect(closed.sort()).toEqual(['closes-a:ready', 'closes-b:ready', 'closes-c:ready']);
    // The round trips: one per step for the whole run, none per batch.
    const ops = (await metrics.dependencyLatency.get()).values
      .filter((v) => v.metricName?.endsWith('_count') && v.value > 0)
      .map((v) => `${v.labels.dependency}:${v.labels.operation}=${v.value}`)
      .sort();
    expect(ops).toEqual([
      'postgres:cache_closed_many=1',
      'postgres:settle_many=1',
      'postgres:snapshots=1',
      'redis:close_many=1',
      'redis:propose_many=1',
      'redis:replace_final_many=1',
    ]);
    // Each closed entry is exactly Postgres' snapshot, read back from Redis through a fresh load's answer.
    const raw = new Redis(redis.url);
    try {
      for (const id of ['closes-a', 'closes-b', 'closes-c', 'closes-stale']) {
        const k = batchKeys(id, 'it:');
        expect(await raw.hget(k.meta, 'status')).toBe('ready');
        const truth = (await store.snapshot(id))!;
        expect(truth.status).toBe('ready');
        expect(await raw.hgetall(k.assign)).toEqual(Object.fromEntries(truth.assigned));
        expect(await raw.smembers(k.free)).toEqual([]);
        expect(await raw.ttl(k.meta)).toBeGreaterThan(0);
      }
      expect(await raw.hget(batchKeys('closes-d', 'it:').meta, 'status')).toBe('open');
    } finally {
      raw.disconnect();
    }
    const marks = await query<{ batch_id: string; cache_open: boolean; cache_closed: boolean }>(
      'SELECT batch_id, cache_open, cache_closed FROM batches WHERE batch_id = ANY($1) ORDER BY 1',
      [['closes-a', 'closes-b', 'closes-c']],
    );
    expect(marks.map((m) => `${m.batch_id}:${m.cache_open}:${m.cache_closed}`)).toEqual([
      'closes-a:false:true',
      'closes-b:false:true',
      'closes-c:false:true',
    ]);
  });

  it('reads many snapshots in one statement, each as the batch view reads it; an unknown batch is absent', async () => {
    const { coordinator, store } = instance('snapshots');
    const [a, b] = ['snap-a', 'snap-b'];
    await coordinator.registerBatch({ batchId: a, essayIds: essays(a, 3), deadline: undefined, correlationId: 'c' });
    await coordinator.registerBatch({ batchId: b, essayIds: essays(b, 1), deadline: undefined, correlationId: 'c' });
    await coordinator.provisionContent(content(a, 'x1'));
    await coordinator.validationFailed(failure(a, 'bad.txt', 'up-1'));
    await coordinator.provisionContent(content(b, 'y1'));
    await coordinator.provisionContent(content(b, 'y2'));
    const snaps = await store.snapshots([a, b, 'snap-unknown']);
    expect([...snaps.keys()].sort()).toEqual([a, b]);
    for (const id of [a, b]) {
      const v = (await store.view(id))!;
      const s = snaps.get(id)!;
      expect(s).toEqual(await store.snapshot(id));
      expect({ status: s.status, expected: s.expected, free: s.free }).toEqual({
        status: v.status,
        expected: v.expected,
        free: v.freeEssayIds,
      });
      expect([...s.assigned].sort()).toEqual(v.essays.map((e) => [e.text_storage_id, e.essay_id]).sort());
      expect([...s.failed.values()].sort()).toEqual(v.validationFailures.map((f) => f.essay_id).sort());
      expect([...s.excess.keys()].sort()).toEqual(v.excess.map((e) => e.text_storage_id).sort());
    }
    expect(snaps.get(b)!.excess).toEqual(new Map([['y2', 'batch_closed']]));
    expect(await store.snapshots([])).toEqual(new Map());
  });

  it('a crash between the cache and the store (after-cache-before-store): the redelivered inputs get the slots Redis proposed, once', async () => {
    const { cache, store } = instance('crash');
    const b = 'crash-a';
    let reached = 0;
    // The hook throws where the fail-point (here `after-cache-before-store=2`) SIGKILLs: nothing after it runs,
    // so Redis is ahead of Postgres.
    const crashing = new Coordinator(cache, store, pino({ level: 'silent' }), {
      beforeStore: () => {
        if (++reached >= 2) throw new Error('crashed at after-cache-before-store');
      },
    });
    await crashing.registerBatch({ batchId: b, essayIds: essays(b, 3), deadline: undefined, correlationId: 'c' });
    const run: SettleInput[] = [
      { kind: 'content', input: content(b, 't1') },
      { kind: 'failure', input: failure(b, 'bad.txt', 'up1') },
      { kind: 'content', input: content(b, 't2') },
    ];
    // A run reaches the point once per input, before its one transaction (the crash at its second input); a
    // single input once.
    expect(await crashing.settleMany(run)).toEqual([undefined, undefined, undefined]);
    expect(reached).toBe(2);
    await expect(crashing.provisionContent(content(b, 't3'))).rejects.toThrow('after-cache-before-store');
    expect(reached).toBe(3);
    const settled = () =>
      query<{ essay_id: string; state: string; text_storage_id: string | null }>(
        "SELECT essay_id, state, text_storage_id FROM slots WHERE batch_id = $1 AND state <> 'free' ORDER BY 1",
        [b],
      );
    expect(await settled()).toEqual([]);
    // Redis holds all three slots, so a new content is excess there, yet no slot is taken in Postgres.
    expect(await cache.proposeMany([{ batchId: b, inputs: [{ kind: 'content', key: 'probe' }] }])).toEqual([
      [{ kind: 'excess', reason: 'no_free_slot' }],
    ]);
    // The restarted instance gets the redelivered run and the content after it: each gets the slot Redis
    // proposed before the crash, the batch completes once.
    const after = instance('after-crash').coordinator;
    expect(await after.settleMany(run)).toEqual(['assigned', 'failure_settled', 'assigned']);
    expect(await after.provisionContent(content(b, 't3'))).toBe('excess');
    const rows = await settled();
    expect(rows.map((r) => `${r.state}:${r.text_storage_id}`).sort()).toEqual([
      'assigned:t1',
      'assigned:t2',
      'failed:null',
    ]);
    expect(
      await query('SELECT 1 FROM outbox WHERE topic = $1 AND message_key = $2', ['t.batch.ready', b]),
    ).toHaveLength(1);
  });

  it('leaves to the one-input path what it cannot settle: no cache entry, a stale cache, a failing call', async () => {
    const x = instance('rest');
    const [b, c, u] = ['rest-b', 'rest-c', 'rest-unregistered'];
    await x.coordinator.registerBatch({ batchId: b, essayIds: essays(b, 3), deadline: undefined, correlationId: 'c' });
    await x.coordinator.registerBatch({ batchId: c, essayIds: essays(c, 3), deadline: undefined, correlationId: 'c' });
    const before = await x.store.snapshot(b);
    expect(await x.coordinator.provisionContent(content(b, 'first'))).toBe('assigned');
    const held = (
      await query<{ essay_id: string }>('SELECT essay_id FROM slots WHERE text_storage_id = $1 AND batch_id = $2', [
        'first',
        b,
      ])
    )[0]!.essay_id;
    // A stale entry for b whose only free slot is the one "first" holds: its input conflicts; c's is settled;
    // the unregistered batch has no entry.
    await x.cache.invalidate(b);
    await x.cache.load({ ...before!, free: [held] });
    const answers = await x.coordinator.settleMany([
      { kind: 'content', input: content(b, 'second') },
      { kind: 'content', input: content(u, 'orphan') },
      { kind: 'content', input: content(c, 'third') },
    ]);
    expect(answers).toEqual([undefined, undefined, 'assigned']);
    // The conflict dropped b's entry: the one-input path rebuilds it and settles "second" in a free slot; the
    // unregistered batch's input is parked there.
    expect(await x.cache.proposeMany([{ batchId: b, inputs: [{ kind: 'content', key: 'second' }] }])).toEqual([
      [{ kind: 'missing' }],
    ]);
    expect(await x.coordinator.provisionContent(content(b, 'second'))).toBe('assigned');
    expect(await x.coordinator.provisionContent(content(u, 'orphan'))).toBe('parked');
    const rows = await query<{ essay_id: string }>(
      "SELECT essay_id FROM slots WHERE batch_id = $1 AND state = 'assigned'",
      [b],
    );
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.essay_id)).size).toBe(2);
    // Redis gone: nothing settled, nothing thrown.
    const y = instance('rest-down');
    await y.cache.quit();
    expect(await y.coordinator.settleMany([{ kind: 'content', input: content(c, 'fourth') }])).toEqual([undefined]);
  });

  it('takes the locks of many batches in one order: two calls over the same batches in opposite orders both finish', async () => {
    const [one, two] = [instance('order-1').store, instance('order-2').store];
    const ids = Array.from({ length: 6 }, (_, i) => `lo-${i}`);
    for (const id of ids)
      await one.register({ batchId: id, essayIds: essays(id, 50), deadline: undefined, correlationId: 'c' });
    const items = (order: string[], tag: string): SettleItem[] =>
      Array.from({ length: 20 }, (_, n) =>
        order.map((id): SettleItem => ({
          op: 'assign',
          input: content(id, `${tag}${n}`),
          essayId: `${id}-e${n + (tag === 'p' ? 0 : 20)}`,
        })),
      ).flat();
    // A third session holds the lock of a batch in the middle while both calls start, so each takes every lock it
    // can before it and waits: locking in the order of its items, each would hold what the other needs next
    // (Postgres then aborts one with 40P01, deadlock_detected). In one global order they queue one behind the other.
    const holder = new pg.Client({ connectionString: dbUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', ['lo-3']);
    const both = Promise.all([one.settleMany(items(ids, 'p')), two.settleMany(items([...ids].reverse(), 'q'))]);
    await new Promise((r) => setTimeout(r, 300));
    await holder.query('COMMIT');
    await holder.end();
    const [w1, w2] = await both;
    expect([...w1, ...w2].every((w) => w.kind === 'recorded')).toBe(true);
  });
});

describe('GET /v1/batches/:id', () => {
  it('reports a batch from Postgres, 404 for an unknown one and 400 for a bad id', async () => {
    const { startHttp } = await import('../http/server.js');
    const { coordinator, store } = instance('h');
    const b = 'viewed';
    await coordinator.registerBatch({ batchId: b, essayIds: essays(b, 2), deadline: undefined, correlationId: 'c' });
    await coordinator.provisionContent(content(b, 'v1'));
    const http = await startHttp('127.0.0.1', 0, {
      registry: createMetrics('h').registry,
      readiness: async () => ({}),
      batch: (id) => store.view(id),
    });
    try {
      const base = `http://127.0.0.1:${http.port}`;
      const r = await fetch(`${base}/v1/batches/${b}`);
      expect(r.status).toBe(200);
      const view = (await r.json()) as {
        status: string;
        essays: { text_storage_id: string }[];
        freeEssayIds: string[];
      };
      expect(view.status).toBe('open');
      expect(view.essays.map((e) => e.text_storage_id)).toEqual(['v1']);
      expect(view.freeEssayIds).toHaveLength(1);
      expect((await fetch(`${base}/v1/batches/nope`)).status).toBe(404);
      const bad = await fetch(`${base}/v1/batches/${encodeURIComponent('a b')}`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toContain('"a b"');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('coordinator_events_consumed_total');
    } finally {
      await new Promise<void>((r) => http.server.close(() => r()));
    }
  });
});
