/**
 * A validation failure is one by its identity (`failureIdentity`): its upload
 * for `essay.validation.failed.v2`, its file name for v1. Found by the lab's
 * fuzz suite: two uploads of `essay.docx` failing in one batch were taken as
 * one failure and its redelivery, so the second settled nothing and the batch
 * never became ready. Against a real Redis and PostgreSQL started by the lab's
 * environment code, as in `coordinator.integration.test.ts` (whose helpers are
 * repeated here: a shared module would have to import the lab outside a test
 * file, which the lint rules forbid for the coordinator).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import pg from 'pg';
import { Redis } from 'ioredis';
import { batchKeys, topics, type BatchReady, type BatchTimedOut } from '@chaos-lab/contracts';
import {
  createWorkDir,
  PostgresServer,
  RedisServer,
  type StartedPostgresServer,
  type StartedRedisServer,
  type WorkDir,
} from '@chaos-lab/lab';
import { Coordinator } from './coordinator.js';
import type { FailureInput } from './ports.js';
import { MIGRATIONS, migrate } from '../adapters/postgres/migrations.js';
import { PgBatchStore } from '../adapters/postgres/pg-store.js';
import { RedisSlotCache } from '../adapters/redis/redis-cache.js';
import { createMetrics } from '../metrics.js';

const KEY_PREFIX = 'fid:';

let work: WorkDir;
let redis: StartedRedisServer;
let postgres: StartedPostgresServer;
let dbUrl: string;
const open: { close(): Promise<void> }[] = [];

function instance(name: string, url = dbUrl) {
  const metrics = createMetrics(name);
  const store = new PgBatchStore({ url, poolSize: 3, statementTimeoutMs: 5000, topics: topics('t.') }, metrics);
  const cache = new RedisSlotCache({ url: redis.url, keyPrefix: KEY_PREFIX, commandTimeoutMs: 2000 }, metrics);
  open.push({ close: () => store.close() }, { close: () => cache.quit() });
  return { store, cache, coordinator: new Coordinator(cache, store, pino({ level: 'silent' })) };
}

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], url = dbUrl): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function redisFailed(batchId: string): Promise<Record<string, string>> {
  const raw = new Redis(redis.url);
  try {
    return await raw.hgetall(batchKeys(batchId, KEY_PREFIX).failed);
  } finally {
    raw.disconnect();
  }
}

async function flushRedis(): Promise<void> {
  const raw = new Redis(redis.url);
  try {
    await raw.flushall();
  } finally {
    raw.disconnect();
  }
}

/** A v2 failure (with an upload id) or, with `uploadId` undefined, a v1 one. */
const failure = (
  batchId: string,
  uploadId: string | undefined,
  originalFileName = 'essay.docx',
  reason = 'empty file',
): FailureInput => ({ batchId, originalFileName, reason, correlationId: 'c', ...(uploadId ? { uploadId } : {}) });
const content = (batchId: string, t: string) => ({
  batchId,
  textStorageId: t,
  originalFileName: `${t}.txt`,
  correlationId: 'c',
});
const essays = (batchId: string, n: number) => Array.from({ length: n }, (_, i) => `${batchId}-e${i}`);
const register = (c: Coordinator, batchId: string, n: number, deadline?: Date) =>
  c.registerBatch({ batchId, essayIds: essays(batchId, n), deadline, correlationId: 'c' });

const failedSlots = (batchId: string) =>
  query<{ essay_id: string; original_file_name: string }>(
    `SELECT essay_id, original_file_name FROM slots WHERE batch_id = $1 AND state = 'failed' ORDER BY essay_id`,
    [batchId],
  );
const status = async (batchId: string) =>
  (await query<{ status: string }>('SELECT status FROM batches WHERE batch_id = $1', [batchId]))[0]?.status;
async function outbox<T>(topic: string, batchId: string): Promise<T[]> {
  const rows = await query<{ payload: T }>('SELECT payload FROM outbox WHERE topic = $1 AND message_key = $2', [
    topic,
    batchId,
  ]);
  return rows.map((r) => r.payload);
}
/** The failures of a ready/timed-out payload, in a stable order and without the (arbitrary) essay ids. */
const byUpload = (fs: readonly { upload_id?: string; original_file_name: string; reason: string }[]) =>
  fs
    .map((f) => ({ upload_id: f.upload_id ?? null, original_file_name: f.original_file_name, reason: f.reason }))
    .sort((a, b) => String(a.upload_id).localeCompare(String(b.upload_id)));

beforeAll(async () => {
  work = await createWorkDir();
  [redis, postgres] = await Promise.all([
    RedisServer.start({ workDir: join(work.path, 'redis'), logFile: join(work.path, 'redis.log') }),
    PostgresServer.start({ workDir: join(work.path, 'pg'), logFile: join(work.path, 'pg.log') }),
  ]);
  dbUrl = await postgres.createDatabase('coordinator_failure_identity');
  await instance('migrate').store.migrate();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(open.map((o) => o.close()));
  await Promise.allSettled([redis?.stop(), postgres?.stop()]);
  await work?.remove();
});

describe('validation failures keyed by their identity', () => {
  it('settles a slot for each of two v2 failures of one file name, and the batch becomes ready', async () => {
    const { coordinator } = instance('two');
    const b = 'two-uploads';
    await register(coordinator, b, 3);
    expect(await coordinator.validationFailed(failure(b, 'u1'))).toBe('failure_settled');
    expect(await coordinator.validationFailed(failure(b, 'u2'))).toBe('failure_settled');
    expect(await coordinator.provisionContent(content(b, 't1'))).toBe('assigned');

    const failed = await failedSlots(b);
    expect(failed, 'two failed slots').toHaveLength(2);
    expect(new Set(failed.map((f) => f.essay_id)).size).toBe(2);
    expect(await status(b)).toBe('ready');
    const ready = await outbox<BatchReady>('t.batch.ready', b);
    expect(ready).toHaveLength(1);
    expect(ready[0]!.data.essays.map((e) => e.text_storage_id)).toEqual(['t1']);
    expect(byUpload(ready[0]!.data.validation_failures)).toEqual([
      { upload_id: 'u1', original_file_name: 'essay.docx', reason: 'empty file' },
      { upload_id: 'u2', original_file_name: 'essay.docx', reason: 'empty file' },
    ]);
    expect(
      await query(`SELECT upload_id FROM slots WHERE batch_id = $1 AND state = 'failed' ORDER BY upload_id`, [b]),
    ).toEqual([{ upload_id: 'u1' }, { upload_id: 'u2' }]);
    expect(Object.keys(await redisFailed(b)).sort()).toEqual(['upload:u1', 'upload:u2']);
  });

  it('takes a redelivered v2 failure (same upload id) as the same failure, on any instance', async () => {
    const [x, y] = [instance('re1'), instance('re2')];
    const b = 'v2-redelivery';
    await register(x.coordinator, b, 3);
    expect(await x.coordinator.validationFailed(failure(b, 'u1'))).toBe('failure_settled');
    expect(await y.coordinator.validationFailed(failure(b, 'u1'))).toBe('failure_settled');
    // A different reason or file name on a redelivery does not make it another failure: the upload does.
    expect(await y.coordinator.validationFailed(failure(b, 'u1', 'renamed.docx', 'other'))).toBe('failure_settled');
    expect(await failedSlots(b)).toHaveLength(1);
    expect(await query(`SELECT 1 FROM slots WHERE batch_id = $1 AND state = 'free'`, [b])).toHaveLength(2);
    expect(Object.keys(await redisFailed(b))).toEqual(['upload:u1']);
  });

  it('keeps v1 failures idempotent by file name, under the bare file name in Redis', async () => {
    const { coordinator } = instance('v1');
    const b = 'v1-redelivery';
    await register(coordinator, b, 3);
    expect(await coordinator.validationFailed(failure(b, undefined))).toBe('failure_settled');
    expect(await coordinator.validationFailed(failure(b, undefined))).toBe('failure_settled');
    expect(await failedSlots(b)).toHaveLength(1);
    expect(Object.keys(await redisFailed(b))).toEqual(['essay.docx']);
    expect(await query(`SELECT upload_id FROM slots WHERE batch_id = $1 AND state = 'failed'`, [b])).toEqual([
      { upload_id: null },
    ]);
  });

  it('tells a v1 failure and v2 failures of the same file name apart in one batch', async () => {
    const { coordinator } = instance('mixed');
    const b = 'v1-and-v2';
    await register(coordinator, b, 3);
    expect(await coordinator.validationFailed(failure(b, undefined))).toBe('failure_settled');
    expect(await coordinator.validationFailed(failure(b, 'u1'))).toBe('failure_settled');
    expect(await coordinator.validationFailed(failure(b, undefined))).toBe('failure_settled');
    expect(await failedSlots(b)).toHaveLength(2);
    expect(await coordinator.validationFailed(failure(b, 'u2'))).toBe('failure_settled');
    expect(await status(b)).toBe('ready');
    const ready = await outbox<BatchReady>('t.batch.ready', b);
    expect(ready).toHaveLength(1);
    expect(ready[0]!.data.essays).toEqual([]);
    expect(byUpload(ready[0]!.data.validation_failures)).toEqual([
      { upload_id: null, original_file_name: 'essay.docx', reason: 'empty file' },
      { upload_id: 'u1', original_file_name: 'essay.docx', reason: 'empty file' },
      { upload_id: 'u2', original_file_name: 'essay.docx', reason: 'empty file' },
    ]);
    // The v1 failure carries no upload_id key at all (not null): the contract's field is optional.
    const v1 = ready[0]!.data.validation_failures.find((f) => f.upload_id === undefined);
    expect(v1 && 'upload_id' in v1).toBe(false);
    expect(Object.keys(await redisFailed(b)).sort()).toEqual(['essay.docx', 'upload:u1', 'upload:u2']);
  });

  it('tells a v1 failure named like a v2 identity from that v2 failure (the identity is unambiguous)', async () => {
    const { coordinator } = instance('lookalike');
    const b = 'v1-named-upload';
    await register(coordinator, b, 3);
    expect(await coordinator.validationFailed(failure(b, undefined, 'upload:u1'))).toBe('failure_settled');
    expect(await coordinator.validationFailed(failure(b, 'u1', 'essay.docx'))).toBe('failure_settled');
    expect(await coordinator.validationFailed(failure(b, undefined, '\\upload:u1'))).toBe('failure_settled');
    expect(await failedSlots(b)).toHaveLength(3);
    expect(await status(b)).toBe('ready');
    expect(Object.keys(await redisFailed(b)).sort()).toEqual(['\\\\upload:u1', '\\upload:u1', 'upload:u1']);
  });

  it('keeps two v2 failures of one file name apart when the state is rebuilt from Postgres', async () => {
    const [x, y] = [instance('lost1'), instance('lost2')];
    const b = 'redis-lost';
    await register(x.coordinator, b, 5);
    await x.coordinator.validationFailed(failure(b, 'u1'));
    await x.coordinator.validationFailed(failure(b, 'u2'));
    const held = Object.fromEntries((await failedSlots(b)).map((f) => [f.essay_id, f]));
    expect(Object.keys(held)).toHaveLength(2);

    const snapshot = await y.store.snapshot(b);
    expect([...snapshot!.failed.keys()].sort()).toEqual(['upload:u1', 'upload:u2']);
    expect(snapshot!.free).toHaveLength(3);

    // Redis loses everything; redeliveries of both failures are rebuilt into their own slots, nothing new.
    await flushRedis();
    const before = await redisFailed(b);
    expect(before).toEqual({});
    expect(await y.coordinator.validationFailed(failure(b, 'u2'))).toBe('failure_settled');
    const rebuilt = await redisFailed(b);
    expect(Object.keys(rebuilt).sort()).toEqual(['upload:u1', 'upload:u2']);
    expect(await failedSlots(b)).toHaveLength(2);

    // The cache drops the batch (as on a conflict); a third upload of the same name still gets a slot of its own.
    await x.cache.invalidate(b);
    expect(await x.coordinator.validationFailed(failure(b, 'u1'))).toBe('failure_settled');
    expect(await x.coordinator.validationFailed(failure(b, 'u3'))).toBe('failure_settled');
    expect(await failedSlots(b)).toHaveLength(3);
    expect(Object.keys(await redisFailed(b)).sort()).toEqual(['upload:u1', 'upload:u2', 'upload:u3']);

    await y.coordinator.provisionContent(content(b, 't1'));
    await y.coordinator.provisionContent(content(b, 't2'));
    expect(await status(b)).toBe('ready');
    const ready = await outbox<BatchReady>('t.batch.ready', b);
    expect(ready[0]!.data.validation_failures.map((f) => f.upload_id).sort()).toEqual(['u1', 'u2', 'u3']);
  });

  it('parks two v2 failures of one file name that arrive before their batch, and settles both', async () => {
    const [x, y] = [instance('park1'), instance('park2')];
    const b = 'parked-uploads';
    expect(await x.coordinator.validationFailed(failure(b, 'u1'))).toBe('parked');
    expect(await x.coordinator.validationFailed(failure(b, 'u2'))).toBe('parked');
    expect(await x.coordinator.validationFailed(failure(b, 'u2'))).toBe('parked');
    expect(await x.coordinator.validationFailed(failure(b, undefined))).toBe('parked');
    expect(await query('SELECT 1 FROM pending_inputs WHERE batch_id = $1', [b])).toHaveLength(3);
    await register(y.coordinator, b, 4);
    expect(await failedSlots(b)).toHaveLength(3);
    expect(await query('SELECT 1 FROM pending_inputs WHERE batch_id = $1', [b])).toHaveLength(0);
    expect(Object.keys(await redisFailed(b)).sort()).toEqual(['essay.docx', 'upload:u1', 'upload:u2']);
  });

  it('records each v2 failure that finds no free slot, once per upload', async () => {
    const { coordinator } = instance('excess');
    const b = 'excess-uploads';
    await register(coordinator, b, 1);
    expect(await coordinator.provisionContent(content(b, 't1'))).toBe('assigned');
    expect(await coordinator.validationFailed(failure(b, 'u1'))).toBe('failure_excess');
    expect(await coordinator.validationFailed(failure(b, 'u2'))).toBe('failure_excess');
    expect(await coordinator.validationFailed(failure(b, 'u2'))).toBe('failure_excess');
    expect(await coordinator.validationFailed(failure(b, undefined))).toBe('failure_excess');
    expect(await coordinator.validationFailed(failure(b, undefined))).toBe('failure_excess');
    expect(
      await query(
        'SELECT original_file_name, upload_id FROM excess_failures WHERE batch_id = $1 ORDER BY upload_id NULLS FIRST',
        [b],
      ),
    ).toEqual([
      { original_file_name: 'essay.docx', upload_id: null },
      { original_file_name: 'essay.docx', upload_id: 'u1' },
      { original_file_name: 'essay.docx', upload_id: 'u2' },
    ]);
  });

  it('lists each v2 failure with its upload id when the batch times out', async () => {
    const xs = [instance('to1'), instance('to2')];
    const b = 'timed-out-uploads';
    await register(xs[0]!.coordinator, b, 3, new Date(Date.now() - 1000));
    await xs[0]!.coordinator.validationFailed(failure(b, 'u1'));
    await xs[1]!.coordinator.validationFailed(failure(b, 'u2'));
    await Promise.all(xs.map((x) => x.coordinator.sweep()));
    expect(await status(b)).toBe('timed_out');
    const out = await outbox<BatchTimedOut>('t.batch.timed_out', b);
    expect(out).toHaveLength(1);
    expect(out[0]!.data.missing_essay_ids).toHaveLength(1);
    expect(byUpload(out[0]!.data.validation_failures)).toEqual([
      { upload_id: 'u1', original_file_name: 'essay.docx', reason: 'empty file' },
      { upload_id: 'u2', original_file_name: 'essay.docx', reason: 'empty file' },
    ]);
  });

  it('upgrades failures written before upload ids: v1 rows keep their identity, v2 ones of the same name are new', async () => {
    const url = await postgres.createDatabase('coordinator_failure_upgrade');
    const old = new pg.Client({ connectionString: url });
    await old.connect();
    try {
      // The schema and rows as the previous version left them: a failed slot, a parked failure, an excess one.
      expect(
        await migrate(
          old,
          MIGRATIONS.filter((m) => m.version <= 2),
        ),
      ).toEqual([1, 2]);
      await old.query(`INSERT INTO batches (batch_id, expected_count, correlation_id) VALUES ('up', 3, 'c')`);
      await old.query(`INSERT INTO slots (batch_id, essay_id) SELECT 'up', unnest($1::text[])`, [essays('up', 3)]);
      await old.query(
        `UPDATE slots SET state = 'failed', original_file_name = 'essay.docx', failure_reason = 'empty file',
                          correlation_id = 'c', settled_at = now() WHERE batch_id = 'up' AND essay_id = 'up-e0'`,
      );
      await old.query(
        `INSERT INTO excess_failures (batch_id, original_file_name, reason) VALUES ('up', 'x.docx', 'r')`,
      );
      await old.query(
        `INSERT INTO pending_inputs (batch_id, kind, input_key, original_file_name, reason, correlation_id)
         VALUES ('up-parked', 'failure', 'essay.docx', 'essay.docx', 'empty file', 'c')`,
      );
    } finally {
      await old.end();
    }
    const { store, coordinator } = instance('upgrade', url);
    expect(await store.migrate()).toEqual(MIGRATIONS.map((m) => m.version).filter((v) => v > 2));
    const failed = (b: string) =>
      query<{ essay_id: string; upload_id: string | null }>(
        `SELECT essay_id, upload_id FROM slots WHERE batch_id = $1 AND state = 'failed' ORDER BY essay_id`,
        [b],
        url,
      );

    expect([...(await store.snapshot('up'))!.failed]).toEqual([['essay.docx', 'up-e0']]);
    expect(await coordinator.validationFailed(failure('up', undefined))).toBe('failure_settled');
    expect(await failed('up')).toEqual([{ essay_id: 'up-e0', upload_id: null }]);
    expect(await coordinator.validationFailed(failure('up', 'u1'))).toBe('failure_settled');
    expect(await failed('up')).toHaveLength(2);

    // The parked v1 failure, a redelivery of it and a v2 failure of the same name, all drained at registration.
    expect(await coordinator.validationFailed(failure('up-parked', undefined))).toBe('parked');
    expect(await coordinator.validationFailed(failure('up-parked', 'u1'))).toBe('parked');
    await register(coordinator, 'up-parked', 2);
    expect((await failed('up-parked')).map((f) => f.upload_id ?? 'v1').sort()).toEqual(['u1', 'v1']);
    expect(await query('SELECT 1 FROM pending_inputs', [], url)).toHaveLength(0);

    // The old excess failure is still unique by its file name.
    await coordinator.validationFailed(failure('up', 'u2'));
    expect(await coordinator.validationFailed(failure('up', undefined, 'x.docx', 'r'))).toBe('failure_excess');
    expect(
      await query(
        'SELECT original_file_name, upload_id FROM excess_failures WHERE batch_id = $1 ORDER BY original_file_name',
        ['up'],
        url,
      ),
    ).toEqual([{ original_file_name: 'x.docx', upload_id: null }]);
  });
});
