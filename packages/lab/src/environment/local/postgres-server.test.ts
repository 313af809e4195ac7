/**
 * Real PostgreSQL servers: template cache creation (including two starts
 * racing to create it), databases, restart with data, kill() as a crash of
 * the whole process tree, pause/resume, idempotent stop, error paths.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, MissingDependencyError, ProviderStartError } from '../../errors.js';
import { isProcessAlive } from './proc.js';
import { PostgresServer, type StartedPostgresServer } from './postgres-server.js';
import { createWorkDir } from './work-dir.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end().catch(() => {});
  }
}

async function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('PostgresServer', () => {
  it('creates the template cache on first use, safely when two starts race for it', async () => {
    await using dir = await createWorkDir();
    const cache = join(dir.path, 'cache', 'pg-template');
    const start = (i: number) =>
      PostgresServer.start({
        workDir: join(dir.path, `pg${i}`),
        logFile: join(dir.path, `pg${i}.log`),
        templateCacheDir: cache,
      });
    const results = await Promise.allSettled([start(0), start(1)]);
    try {
      for (const r of results) expect(r.status).toBe('fulfilled');
      const [a, b] = results.map((r) => (r as PromiseFulfilledResult<StartedPostgresServer>).value);
      expect(a!.port).not.toBe(b!.port);
      for (const s of [a!, b!]) {
        expect(await query<{ one: number }>(s.connectionString(), 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      }
      expect(readFileSync(join(cache, 'PG_VERSION'), 'utf8').trim()).toBe(String(a!.majorVersion));
      if (process.getuid?.() === 0) {
        const pgUid = statSync(a!.dataDir).uid;
        expect(pgUid).not.toBe(0);
        expect(statSync(cache).uid).toBe(pgUid);
      }
      // the loser's copy is gone: nothing but the template next to it
      expect(readdirSync(dirname(cache))).toEqual(['pg-template']);
    } finally {
      for (const r of results) if (r.status === 'fulfilled') await r.value.stop();
    }
  }, 60_000);

  it('starts, creates a database, keeps data across restart, and stops idempotently', async () => {
    await using dir = await createWorkDir();
    await using server = await PostgresServer.start({
      workDir: join(dir.path, 'postgres'),
      logFile: join(dir.path, 'postgres.log'),
    });
    expect(server.host).toBe('127.0.0.1');
    expect(server.user).toBe('postgres');
    expect(server.connectionString()).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
    expect(isProcessAlive(server.pid)).toBe(true);

    const url = await server.createDatabase('lab_test');
    expect(url).toBe(server.connectionString('lab_test'));
    await query(url, 'CREATE TABLE batches (id int PRIMARY KEY, state text)');
    await query(url, `INSERT INTO batches VALUES (1, 'open'), (2, 'sealed')`);
    expect(await query(url, `SELECT current_setting('max_connections') AS m`)).toEqual([{ m: '200' }]);

    const port = server.port;
    const firstPid = server.pid;
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(firstPid);
    expect(isProcessAlive(firstPid)).toBe(false);
    expect(await query(url, 'SELECT id, state FROM batches ORDER BY id')).toEqual([
      { id: 1, state: 'open' },
      { id: 2, state: 'sealed' },
    ]);

    const pid = server.pid;
    await server.stop();
    await server.stop();
    expect(server.running).toBe(false);
    expect(isProcessAlive(pid)).toBe(false);
    expect(server.processes()).toEqual([]);
    expect(await canBind(port)).toBe(true);
  }, 60_000);

  it('kill() crashes the whole process tree; with synchronousCommit the committed rows survive restart', async () => {
    await using dir = await createWorkDir();
    await using server = await PostgresServer.start({
      workDir: join(dir.path, 'postgres'),
      logFile: join(dir.path, 'postgres.log'),
      synchronousCommit: true,
    });
    const url = server.connectionString();
    await query(url, 'CREATE TABLE t (i int)');
    await query(url, 'INSERT INTO t SELECT generate_series(1, 100)');
    const holder = new pg.Client({ connectionString: url }); // a backend that must die too
    holder.on('error', () => {});
    await holder.connect();
    const tree = server.processes();
    expect(tree.length).toBeGreaterThan(3);

    await server.kill();
    expect(server.running).toBe(false);
    expect(tree.filter(isProcessAlive)).toEqual([]);
    await holder.end().catch(() => {});

    await server.restart(); // crash recovery
    expect(await query(url, 'SELECT count(*)::int AS n FROM t')).toEqual([{ n: 100 }]);
    expect(readFileSync(server.logFile, 'utf8')).toMatch(/not properly shut down; automatic recovery in progress/);
  }, 60_000);

  it('pause() freezes every server process and resume() brings them back', async () => {
    await using dir = await createWorkDir();
    await using server = await PostgresServer.start({
      workDir: join(dir.path, 'postgres'),
      logFile: join(dir.path, 'postgres.log'),
    });
    const c = new pg.Client({ connectionString: server.connectionString(), query_timeout: 300 });
    c.on('error', () => {});
    await c.connect();
    try {
      await server.pause();
      await expect(c.query('SELECT 1')).rejects.toThrow(/timeout/i);
      await server.resume();
      const c2 = new pg.Client({ connectionString: server.connectionString() });
      await c2.connect();
      expect((await c2.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
      await c2.end();
    } finally {
      await c.end().catch(() => {});
    }
    await server.pause();
    await server.stop(); // a paused tree still shuts down fast
    expect(server.processes()).toEqual([]);
  }, 60_000);

  it('rejects a bad database name, a missing binary, a reused work dir and a taken port with named errors', async () => {
    await using dir = await createWorkDir();
    await using server = await PostgresServer.start({
      workDir: join(dir.path, 'postgres'),
      logFile: join(dir.path, 'postgres.log'),
    });
    for (const bad of ['Bad', '1abc', 'a-b', 'x'.repeat(64), '', 'drop table;']) {
      await expect(server.createDatabase(bad)).rejects.toMatchObject({
        constructor: InvalidArgumentError,
        field: 'database',
      });
    }
    await expect(server.createDatabase('_ok_63' + 'x'.repeat(57))).resolves.toMatch(/\/_ok_63x+$/);

    await mkdir(join(dir.path, 'empty-bin'));
    const missing = PostgresServer.start({
      workDir: join(dir.path, 'other'),
      logFile: join(dir.path, 'other.log'),
      binDir: join(dir.path, 'empty-bin'),
    });
    await expect(missing).rejects.toBeInstanceOf(MissingDependencyError);
    await expect(missing).rejects.toThrow(/apt-get install -y postgresql/);

    await expect(
      PostgresServer.start({ workDir: join(dir.path, 'postgres'), logFile: join(dir.path, 'again.log') }),
    ).rejects.toMatchObject({ field: 'workDir' });

    // an explicit port that is taken fails (no other port is tried) and leaves the work dir reusable
    const blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const opts = { workDir: join(dir.path, 'taken'), logFile: join(dir.path, 'taken.log') };
      const err = await PostgresServer.start({ ...opts, port: taken }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderStartError);
      expect((err as Error).message).toMatch(new RegExp(`port ${taken} .*already in use`));
      expect(existsSync(join(opts.workDir, 'pgdata'))).toBe(false);
      await using retry = await PostgresServer.start(opts);
      expect(retry.port).not.toBe(taken);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 60_000);
});
