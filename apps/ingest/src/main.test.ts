/** The built entry point as a process: configuration errors and start-up failures. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const env = {
  PATH: process.env.PATH,
  INGEST_POSTGRES_URL: 'postgres://x@127.0.0.1:1/x',
  INGEST_KAFKA_BROKERS: '127.0.0.1:1',
};

describe('ingest entry point', () => {
  it('exits 2 with one line naming the variable and the value on bad configuration', () => {
    const r = spawnSync(process.execPath, [main], {
      env: { ...env, INGEST_HTTP_PORT: 'eighty' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      'ingest: invalid configuration: INGEST_HTTP_PORT="eighty": must be an integer from 0 to 65535',
    );
  });

  it('exits 1 with a fatal log line when Postgres is unreachable at start', () => {
    const r = spawnSync(process.execPath, [main], {
      env: { ...env, INGEST_HTTP_PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    const fatal = r.stdout.split('\n').find((l) => l.includes('"level":60'));
    expect(fatal).toContain('ingest failed to start');
    expect(fatal).toContain('ECONNREFUSED');
  });
});
