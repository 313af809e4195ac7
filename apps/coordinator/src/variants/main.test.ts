import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VARIANT_DESCRIPTIONS, VARIANT_NAMES } from './index.js';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'variants', 'main.js');

const run = (env: Record<string, string>) =>
  spawnSync(process.execPath, [main], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });

describe('variants entry point (dist/variants/main.js)', () => {
  it('--list prints each variant as name<TAB>its seed bug in one line', () => {
    const r = spawnSync(process.execPath, [main, '--list'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual(VARIANT_NAMES.map((n) => `${n}\t${VARIANT_DESCRIPTIONS[n]}`));
    for (const n of VARIANT_NAMES) expect(VARIANT_DESCRIPTIONS[n], n).toMatch(/^[a-z].{20,110}$/);
  });

  it('exits 2 with one line naming COORDINATOR_VARIANT and the bad value', () => {
    const r = run({ COORDINATOR_VARIANT: 'bogus' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `coordinator: invalid configuration: COORDINATOR_VARIANT="bogus": must be one of ${VARIANT_NAMES.join(', ')}\n`,
    );
  });

  it('exits 2 when COORDINATOR_VARIANT is unset', () => {
    const r = run({});
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('coordinator: invalid configuration: COORDINATOR_VARIANT=(unset): is required\n');
  });

  it('then validates the rest of the configuration like production', () => {
    const r = run({
      COORDINATOR_VARIANT: 'check-then-act',
      COORDINATOR_REDIS_URL: 'redis://127.0.0.1:1',
      COORDINATOR_POSTGRES_URL: 'postgres://x@127.0.0.1:1/x',
      COORDINATOR_KAFKA_BROKERS: '127.0.0.1:1',
      COORDINATOR_HTTP_PORT: 'eighty',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      'coordinator: invalid configuration: COORDINATOR_HTTP_PORT="eighty": must be an integer from 0 to 65535',
    );
  });
});
