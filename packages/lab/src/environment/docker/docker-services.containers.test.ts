/**
 * The docker provider's containers on a real container runtime: Redis,
 * PostgreSQL and Toxiproxy started by `startDockerServices`, then every
 * operation the nemesis uses on them — Redis restarted with and without its
 * data, killed, paused; PostgreSQL restarted and killed; an instance's links
 * through Toxiproxy slowed, cut and reset — each checked from the host with
 * the clients the coordinator uses. Kafka is left out: no Kafka image can be
 * had where this was written (see `scripts/podman/`).
 *
 * Opt-in (`LAB_CONTAINER_TESTS=1`), since it needs a container runtime and
 * its images. The images come from `LAB_IMAGES_FILE` (default: the
 * repository's `.env`, the pinned official images); `scripts/podman/` makes
 * a file naming stand-ins built from Debian packages, for machines that can
 * reach no image registry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { readPinnedImages } from './images.js';
import type { StartedDockerServices } from './docker-services.js';

const enabled = process.env.LAB_CONTAINER_TESTS === '1';

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

async function redisAt(url: string): Promise<Redis> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
  });
  r.on('error', () => {});
  await r.connect();
  return r;
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end().catch(() => {});
  }
}

describe.runIf(enabled)('docker provider containers on a real runtime', { timeout: 120_000 }, () => {
  let dir: string;
  let services: StartedDockerServices;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-containers-test-'));
    const { startDockerServices } = await import('./docker-services.js');
    services = await startDockerServices({
      services: ['redis', 'postgres', 'toxiproxy'],
      images: readPinnedImages(process.env.LAB_IMAGES_FILE),
      logDir: join(dir, 'logs'),
      startupTimeoutMs: 90_000,
    });
  }, 240_000);

  afterAll(async () => {
    await services?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('starts only the services asked for', () => {
    expect(services.kafka).toBeUndefined();
    expect(services.redis?.running).toBe(true);
    expect(services.postgres?.running).toBe(true);
    expect(services.toxiproxy?.faultProxy.running).toBe(true);
  });

  it('Redis: a restart keeps the data, a restart without data empties it, a kill refuses connections', async () => {
    const redis = services.redis!;
    let r = await redisAt(redis.url);
    await r.set('k', 'v');
    r.disconnect();
    const pid = redis.pid;
    await redis.restart({ keepData: true });
    expect(redis.pid).not.toBe(pid);
    r = await redisAt(redis.url);
    expect(await r.get('k')).toBe('v');
    r.disconnect();

    await redis.restart({ keepData: false });
    r = await redisAt(redis.url);
    expect(await r.get('k')).toBeNull();
    expect(await r.dbsize()).toBe(0);
    r.disconnect();

    await redis.kill();
    expect(redis.running).toBe(false);
    expect(await refused(redis.host, redis.port)).toBe(true);
    await redis.restart({ keepData: true });
    r = await redisAt(redis.url);
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
  });

  it('Redis: a paused server answers nothing until it is resumed', async () => {
    const redis = services.redis!;
    const r = await redisAt(redis.url);
    await redis.pause();
    // pause() resolves once docker pause has answered; a moment more for the freeze to show.
    await new Promise((ok) => setTimeout(ok, 500));
    const answer = r.ping();
    const first = await Promise.race([answer, new Promise((ok) => setTimeout(() => ok('no answer'), 1_500))]);
    expect(first).toBe('no answer');
    await redis.resume();
    expect(await answer).toBe('PONG');
    r.disconnect();
  });

  it('PostgreSQL: a database is created, survives a restart, and a kill refuses connections', async () => {
    const postgres = services.postgres!;
    const url = await postgres.createDatabase('lab_containers');
    await query(url, 'CREATE TABLE t (x int); INSERT INTO t VALUES (42)');
    const pid = postgres.pid;
    await postgres.restart();
    expect(postgres.pid).not.toBe(pid);
    expect(await query<{ x: number }>(url, 'SELECT x FROM t')).toEqual([{ x: 42 }]);
    await postgres.kill();
    expect(await refused(postgres.host, postgres.port)).toBe(true);
    await postgres.restart();
    expect(await query<{ x: number }>(url, 'SELECT x FROM t')).toEqual([{ x: 42 }]);
  });

  it('links: each instance reaches Redis and PostgreSQL through its own Toxiproxy proxies, which slow, cut and reset', async () => {
    const links = services.toxiproxy!.links;
    const one = await links.create('coordinator-1');
    const two = await links.create('coordinator-2');
    expect(one.redisUrl).not.toBe(two.redisUrl);
    let r1 = await redisAt(one.redisUrl);
    const r2 = await redisAt(two.redisUrl);
    expect(await r1.ping()).toBe('PONG');
    expect(await query<{ one: number }>(one.postgresUrl, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);

    // 300 ms on coordinator-1's Redis link only.
    await links.addToxic('coordinator-1', 'redis', 'slow', { type: 'latency', attributes: { latency: 300 } });
    let t = performance.now();
    await r1.ping();
    const slowMs = performance.now() - t;
    t = performance.now();
    await r2.ping();
    const otherMs = performance.now() - t;
    expect(slowMs).toBeGreaterThanOrEqual(290);
    expect(otherMs).toBeLessThan(200);

    // Cut: the proxy closes its connections and refuses new ones.
    await links.setEnabled('coordinator-1', 'redis', false);
    const where = await links.listen('coordinator-1-redis');
    expect(await refused(where.host, where.port)).toBe(true);
    expect(await r2.ping()).toBe('PONG');

    await links.reset();
    r1.disconnect();
    r1 = await redisAt(one.redisUrl);
    t = performance.now();
    expect(await r1.ping()).toBe('PONG');
    expect(performance.now() - t).toBeLessThan(200);
    r1.disconnect();
    r2.disconnect();
  });

  it('an alias the network does not resolve is named in one line, not met later as "Connection is closed"', async () => {
    // The same check startDockerServices ran before beforeAll got its services (redis and postgres resolved),
    // asked here for one alias that exists on the network and one that does not, from a container of the same
    // image on a network of its own.
    const { GenericContainer, Network } = await import('testcontainers');
    const { checkAliasesResolve } = await import('./alias-check.js');
    const { UnresolvedAliasError } = await import('./docker-errors.js');
    const images = readPinnedImages(process.env.LAB_IMAGES_FILE);
    const network = await new Network().start();
    const peer = await new GenericContainer(images.REDIS_IMAGE)
      .withNetwork(network)
      .withNetworkAliases('upstream-here')
      .withExposedPorts(6379)
      .start()
      .catch(async (err: unknown) => {
        await network.stop();
        throw err;
      });
    try {
      const where = { network: network.getName(), askedFrom: 'redis' };
      await expect(checkAliasesResolve(peer, ['upstream-here'], where)).resolves.toBeUndefined();
      const missing = checkAliasesResolve(peer, ['upstream-here', 'no-such-upstream'], where);
      await expect(missing).rejects.toBeInstanceOf(UnresolvedAliasError);
      const err = (await missing.catch((e: unknown) => e)) as Error;
      expect(err.message.split('\n')).toHaveLength(1);
      expect(err.message).toContain(`${network.getName()} does not resolve no-such-upstream (`);
      expect(err.message).not.toContain('upstream-here');
      expect(err.message).toContain('golang-github-containernetworking-plugin-dnsname');
    } finally {
      await peer.stop();
      await network.stop();
    }
  });

  it('stop removes every container: their ports refuse connections', async () => {
    const redis = services.redis!;
    const postgres = services.postgres!;
    const [rh, rp, ph, pp] = [redis.host, redis.port, postgres.host, postgres.port];
    await services.stop();
    expect(redis.running).toBe(false);
    expect(await refused(rh, rp)).toBe(true);
    expect(await refused(ph, pp)).toBe(true);
  });
});
