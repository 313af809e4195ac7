import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from './config.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const main = join(dist, 'main.js');

describe('coordinator entry point', () => {
  it('exits 2 with one line naming the variable and the value on bad configuration', () => {
    const r = spawnSync(process.execPath, [main], {
      env: {
        PATH: process.env.PATH,
        COORDINATOR_REDIS_URL: 'redis://127.0.0.1:1',
        COORDINATOR_POSTGRES_URL: 'postgres://x@127.0.0.1:1/x',
        COORDINATOR_KAFKA_BROKERS: '127.0.0.1:1',
        COORDINATOR_HTTP_PORT: 'eighty',
      },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      'coordinator: invalid configuration: COORDINATOR_HTTP_PORT="eighty": must be an integer from 0 to 65535',
    );
  });

  it('exits 1 with a fatal log line when a dependency is unreachable at start', () => {
    const r = spawnSync(process.execPath, [main], {
      env: {
        PATH: process.env.PATH,
        COORDINATOR_REDIS_URL: 'redis://127.0.0.1:1',
        COORDINATOR_POSTGRES_URL: 'postgres://x@127.0.0.1:1/x',
        COORDINATOR_KAFKA_BROKERS: '127.0.0.1:1',
        COORDINATOR_HTTP_PORT: '0',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    const fatal = r.stdout.split('\n').find((l) => l.includes('"level":60'));
    expect(fatal).toContain('coordinator failed to start');
    expect(fatal).toContain('ECONNREFUSED');
  });
});

describe('production ignores COORDINATOR_VARIANT (a lab-only variable of dist/variants/main.js)', () => {
  const env = {
    COORDINATOR_REDIS_URL: 'redis://127.0.0.1:1',
    COORDINATOR_POSTGRES_URL: 'postgres://x@127.0.0.1:1/x',
    COORDINATOR_KAFKA_BROKERS: '127.0.0.1:1',
  };

  it('loadConfig does not read it: any value, even an invalid one, yields the same configuration', () => {
    const plain = loadConfig(env);
    expect(loadConfig({ ...env, COORDINATOR_VARIANT: 'check-then-act' })).toEqual(plain);
    expect(loadConfig({ ...env, COORDINATOR_VARIANT: 'bogus' })).toEqual(plain);
  });

  /**
   * Lists every module an entry point resolves. A bad COORDINATOR_HTTP_PORT
   * makes it exit 2 right after start, but ESM resolves and links the whole
   * static import graph before any of it runs, so the list is complete.
   */
  function modulesLoadedBy(entry: string, extraEnv: Record<string, string>) {
    const dir = mkdtempSync(join(tmpdir(), 'module-graph-'));
    try {
      const log = join(dir, 'resolved.txt');
      writeFileSync(
        join(dir, 'hooks.mjs'),
        `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}
`,
      );
      writeFileSync(log, '');
      writeFileSync(
        join(dir, 'register.mjs'),
        `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
      );
      const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, entry], {
        env: { PATH: process.env.PATH, ...env, COORDINATOR_HTTP_PORT: 'eighty', ...extraEnv },
        encoding: 'utf8',
        timeout: 10_000,
      });
      const modules = readFileSync(log, 'utf8')
        .split('\n')
        .filter((u) => u.startsWith('file:'))
        .map((u) => fileURLToPath(u));
      return { status: r.status, stderr: r.stderr, modules };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('dist/main.js never loads a module under dist/variants/, with COORDINATOR_VARIANT set or not', () => {
    const r = modulesLoadedBy(main, { COORDINATOR_VARIANT: 'check-then-act' });
    // It complained about the port, not the variant: the variable is not part of its configuration.
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('COORDINATOR_HTTP_PORT="eighty"');
    expect(r.stderr).not.toContain('COORDINATOR_VARIANT');
    expect(r.modules).toContain(join(dist, 'service.js'));
    expect(r.modules.filter((m) => m.startsWith(join(dist, 'variants')))).toEqual([]);
  });

  it('(control) the lab-only entry point does load the variants, so the listing above would see them', () => {
    const r = modulesLoadedBy(join(dist, 'variants', 'main.js'), { COORDINATOR_VARIANT: 'check-then-act' });
    expect(r.status).toBe(2);
    expect(r.modules).toContain(join(dist, 'variants', 'check-then-act.js'));
  });
});
