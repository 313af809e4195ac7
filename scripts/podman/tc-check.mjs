// testcontainers against podman's Docker-compatible API, with the repository's
// own installed testcontainers, @testcontainers/redis and @testcontainers/postgresql,
// on the local stand-in images (nothing can be pulled; Ryuk's image neither).
//
//   DOCKER_HOST=unix:///run/podman/podman.sock TESTCONTAINERS_RYUK_DISABLED=true \
//     node scripts/podman/tc-check.mjs <checkout after npm ci>
//
// Redis: start, mapped port, PING from the host (ioredis), redis-cli inside
// (exec), restart, PING again, stop. PostgreSQL: start (the module's own
// health check: pg_isready), SELECT from the host (pg), stop. Every container
// carries the label chaos-lab.check=1 and is removed on every path.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const clone = process.argv[2];
if (!clone) {
  console.error('usage: node tc-check.mjs <checkout after npm ci>');
  process.exit(2);
}
for (const v of ['DOCKER_HOST', 'TESTCONTAINERS_RYUK_DISABLED'])
  if (!process.env[v]) {
    console.error(`tc-check: ${v} is not set (see scripts/podman/setup.sh)`);
    process.exit(2);
  }
const require = createRequire(resolve(clone, 'package.json'));
// The lab's own dependencies (ioredis, pg, the testcontainers modules) live under its workspace.
const labRequire = createRequire(resolve(clone, 'packages/lab/package.json'));
const req = (m) => {
  try {
    return labRequire(m);
  } catch {
    return require(m);
  }
};
const { RedisContainer } = req('@testcontainers/redis');
const { PostgreSqlContainer } = req('@testcontainers/postgresql');
const Redis = req('ioredis').default ?? req('ioredis');
const pg = req('pg');

const REDIS = process.env.REDIS_IMAGE ?? 'localhost/chaos-lab-standin/redis:bookworm';
const POSTGRES = process.env.POSTGRES_IMAGE ?? 'localhost/chaos-lab-standin/postgres:15-bookworm';
const LABELS = { 'chaos-lab.check': '1' };
const results = [];
const step = async (name, fn) => {
  const t0 = performance.now();
  try {
    const detail = await fn();
    const ms = Math.round(performance.now() - t0);
    const shown = typeof detail === 'object' && detail?.getId ? `container ${detail.getId().slice(0, 12)}` : detail;
    results.push({ step: name, ok: true, ms, detail: shown });
    console.log(`ok    ${name} (${ms} ms)${shown !== undefined ? `: ${shown}` : ''}`);
    return detail;
  } catch (err) {
    const ms = Math.round(performance.now() - t0);
    results.push({ step: name, ok: false, ms, error: String(err?.stack ?? err) });
    console.log(`FAIL  ${name} (${ms} ms): ${err?.stack ?? err}`);
    throw err;
  }
};
const ping = async (port) => {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await r.connect();
    return await r.ping();
  } finally {
    r.disconnect();
  }
};

let redis;
let postgres;
let failed = false;
try {
  redis = await step(`redis: start ${REDIS}`, async () => {
    const c = await new RedisContainer(REDIS).withLabels(LABELS).start();
    return c;
  });
  const port = redis.getMappedPort(6379);
  await step('redis: mapped port', async () => `6379 -> ${redis.getHost()}:${port}`);
  await step('redis: PING from the host (ioredis)', () => ping(port));
  await step('redis: exec redis-cli ping inside', async () => {
    const r = await redis.exec(['redis-cli', 'ping']);
    if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.output}`);
    return r.output.trim();
  });
  await step('redis: restart', async () => {
    await redis.restart();
    return `mapped port now ${redis.getMappedPort(6379)}`;
  });
  await step('redis: PING after restart', () => ping(redis.getMappedPort(6379)));
  await step('redis: stop', async () => {
    await redis.stop();
    redis = undefined;
  });
} catch {
  failed = true;
}
try {
  postgres = await step(`postgres: start ${POSTGRES}`, () =>
    new PostgreSqlContainer(POSTGRES).withLabels(LABELS).start(),
  );
  await step('postgres: SELECT from the host (pg)', async () => {
    const c = new pg.Client({ connectionString: postgres.getConnectionUri() });
    await c.connect();
    try {
      const r = await c.query('select current_user, current_database(), version()');
      const row = r.rows[0];
      return `${row.current_user}@${row.current_database}: ${row.version.split(' on ')[0]}`;
    } finally {
      await c.end();
    }
  });
  await step('postgres: stop', async () => {
    await postgres.stop();
    postgres = undefined;
  });
} catch {
  failed = true;
} finally {
  await Promise.allSettled([redis?.stop(), postgres?.stop()]);
}
console.log(JSON.stringify({ ok: !failed, results }, null, 2));
process.exit(failed ? 1 : 0);
