/**
 * Real redis-server processes: start, data loss on restart, AOF durability
 * across SIGKILL, pause/resume, idempotent stop, and the error paths.
 */
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { InvalidArgumentError, MissingDependencyError, ProviderStartError } from '../../errors.js';
import { isProcessAlive } from './proc.js';
import { RedisServer } from './redis-server.js';
import { createWorkDir } from './work-dir.js';

/** A client that fails fast instead of reconnecting, so a dead server shows up as an error. */
function client(url: string, commandTimeout = 2_000): Redis {
  return new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    commandTimeout,
  });
}

async function withClient<T>(url: string, fn: (r: Redis) => Promise<T>, commandTimeout?: number): Promise<T> {
  const r = client(url, commandTimeout);
  r.on('error', () => {});
  await r.connect();
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('RedisServer', () => {
  it('starts, serves, comes back empty after restart({ keepData: false }), and stops idempotently', async () => {
    await using dir = await createWorkDir();
    await using redis = await RedisServer.start({
      workDir: join(dir.path, 'redis'),
      logFile: join(dir.path, 'redis.log'),
    });
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.host).toBe('127.0.0.1');
    expect(isProcessAlive(redis.pid)).toBe(true);

    await withClient(redis.url, async (r) => {
      await r.set('k', 'v');
      expect(await r.get('k')).toBe('v');
    });

    const firstPid = redis.pid;
    const port = redis.port;
    await redis.restart({ keepData: false });
    expect(redis.port).toBe(port);
    expect(redis.pid).not.toBe(firstPid);
    expect(isProcessAlive(firstPid)).toBe(false);
    await withClient(redis.url, async (r) => {
      expect(await r.get('k')).toBeNull();
      expect(await r.dbsize()).toBe(0);
    });

    const pid = redis.pid;
    await redis.stop();
    await redis.stop();
    expect(redis.running).toBe(false);
    expect(isProcessAlive(pid)).toBe(false);
    expect(await canBind(port)).toBe(true);
  }, 30_000);

  it('with persistence aof-always an acknowledged write survives kill() + restart({ keepData: true })', async () => {
    await using dir = await createWorkDir();
    await using redis = await RedisServer.start({
      workDir: join(dir.path, 'redis'),
      logFile: join(dir.path, 'redis.log'),
      persistence: 'aof-always',
    });
    await withClient(redis.url, async (r) => {
      await r.set('durable', '1');
      expect(await r.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    });
    const killedPid = redis.pid;
    await redis.kill();
    expect(redis.running).toBe(false);
    expect(isProcessAlive(killedPid)).toBe(false);

    await redis.restart({ keepData: true });
    await withClient(redis.url, async (r) => expect(await r.get('durable')).toBe('1'));

    // and keepData: false really wipes the AOF too
    await redis.restart({ keepData: false });
    await withClient(redis.url, async (r) => expect(await r.get('durable')).toBeNull());
  }, 30_000);

  it('without persistence, restart({ keepData: true }) of a running server keeps the data (SAVE first)', async () => {
    await using dir = await createWorkDir();
    await using redis = await RedisServer.start({
      workDir: join(dir.path, 'redis'),
      logFile: join(dir.path, 'redis.log'),
    });
    await withClient(redis.url, async (r) => {
      await r.set('kept', 'yes');
      expect(await r.config('GET', 'save')).toEqual(['save', '']);
    });
    await redis.restart({ keepData: true });
    await withClient(redis.url, async (r) => expect(await r.get('kept')).toBe('yes'));
  }, 30_000);

  it('pause() freezes the server and resume() brings it back; maxmemory is applied', async () => {
    await using dir = await createWorkDir();
    await using redis = await RedisServer.start({
      workDir: join(dir.path, 'redis'),
      logFile: join(dir.path, 'redis.log'),
      maxmemory: '32mb',
    });
    await withClient(
      redis.url,
      async (r) => {
        expect(await r.config('GET', 'maxmemory')).toEqual(['maxmemory', String(32 * 1024 * 1024)]);
        await redis.pause();
        // the connection stays open, but nothing is answered
        await expect(r.ping()).rejects.toThrow(/timed out/i);
        await redis.resume();
        expect(await r.ping()).toBe('PONG');
      },
      300,
    );
    // stop() of a paused server works too (SIGCONT before SIGTERM)
    await redis.pause();
    await redis.stop();
    expect(redis.running).toBe(false);
  }, 30_000);

  it('reports a missing binary, bad options and a taken explicit port as named errors', async () => {
    await using dir = await createWorkDir();
    const base = { workDir: join(dir.path, 'redis'), logFile: join(dir.path, 'redis.log') };
    await expect(RedisServer.start({ ...base, binary: '/nonexistent/redis-server' })).rejects.toBeInstanceOf(
      MissingDependencyError,
    );
    await expect(RedisServer.start({ ...base, binary: '/nonexistent/redis-server' })).rejects.toThrow(
      /apt-get install -y redis-server/,
    );
    await expect(RedisServer.start({ ...base, maxmemory: 'lots' })).rejects.toMatchObject({
      constructor: InvalidArgumentError,
      field: 'maxmemory',
    });
    await expect(RedisServer.start({ ...base, port: 70_000 })).rejects.toMatchObject({ field: 'port' });

    const blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const err = await RedisServer.start({ ...base, port: taken }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderStartError);
      expect((err as ProviderStartError).message).toMatch(new RegExp(`port ${taken} .*already in use`));
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 30_000);
});
