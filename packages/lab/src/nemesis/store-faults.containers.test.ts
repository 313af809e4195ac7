/**
 * The store faults on the docker provider's Redis and PostgreSQL containers:
 * the same commands through the containers' mapped ports give the same
 * refusals (READONLY, BUSY, 25006), and the data outlives them. Opt-in
 * (`LAB_CONTAINER_TESTS=1`), as the provider's own container test; images from
 * `LAB_IMAGES_FILE` (default: the repository's `.env`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { postgresReadonly, redisBusy, redisReadonly } from './store-faults.js';
import type { NemesisContext } from './types.js';
import { readPinnedImages } from '../environment/docker/images.js';
import type { StartedDockerServices } from '../environment/docker/docker-services.js';

const enabled = process.env.LAB_CONTAINER_TESTS === '1';

describe.runIf(enabled)('store faults on the docker provider’s containers', { timeout: 120_000 }, () => {
  let dir: string;
  let services: StartedDockerServices;
  let ctx: NemesisContext;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-store-faults-'));
    const { startDockerServices } = await import('../environment/docker/docker-services.js');
    services = await startDockerServices({
      services: ['redis', 'postgres'],
      images: readPinnedImages(process.env.LAB_IMAGES_FILE),
      logDir: join(dir, 'logs'),
      startupTimeoutMs: 90_000,
    });
    ctx = { env: services, instances: { all: [] } } as unknown as NemesisContext;
  }, 240_000);

  afterAll(async () => {
    await services?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('redis-readonly and redis-busy: the refusal during the window, the data and writes after', async () => {
    const r = new Redis(services.redis!.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    await r.connect();
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (err: unknown) => (err as Error).message,
      );
    try {
      await r.set('k', 'v');
      const readonly = await redisReadonly.start({ kind: 'redis-readonly' }, ctx);
      expect(await failure(r.set('k', 'changed'))).toMatch(/^READONLY /);
      expect(await r.get('k')).toBe('v');
      expect(await readonly.end()).toMatchObject({ tookEffect: true, detail: { dataKept: true, writableAfter: true } });

      const busy = await redisBusy.start({ kind: 'redis-busy' }, ctx);
      expect(await failure(r.set('k', 'changed'))).toMatch(/^BUSY /);
      expect(await busy.end()).toMatchObject({ tookEffect: true, detail: { heldToEnd: true, dataKept: true } });
      expect(await r.get('k')).toBe('v');
      expect(await r.set('k', 'after')).toBe('OK');
    } finally {
      r.disconnect();
    }
  });

  it('postgres-readonly: a session opened before gets 25006 on a write, and writes again after', async () => {
    const url = await services.postgres!.createDatabase('store_faults');
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => {});
    await c.connect();
    try {
      await c.query('CREATE TABLE t (x int); INSERT INTO t VALUES (1)');
      const fault = await postgresReadonly.start({ kind: 'postgres-readonly' }, ctx);
      const code = await c.query('INSERT INTO t VALUES (2)').then(
        () => 'ok',
        (err: unknown) => (err as { code?: string }).code,
      );
      expect(await fault.end()).toMatchObject({ tookEffect: true, detail: { writableAfter: true } });
      expect(code).toBe('25006');
      await c.query('INSERT INTO t VALUES (3)');
      expect((await c.query('SELECT x FROM t ORDER BY x')).rows).toEqual([{ x: 1 }, { x: 3 }]);
    } finally {
      await c.end().catch(() => {});
    }
  });
});
