import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';

const base = {
  INGEST_POSTGRES_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
  INGEST_KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
};

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(base);
    expect(c).toEqual({
      instanceId: `ingest-${process.pid}`,
      http: { host: '0.0.0.0', port: 8081 },
      postgres: { url: base.INGEST_POSTGRES_URL, poolSize: 10 },
      kafka: { brokers: ['127.0.0.1:9092', '127.0.0.1:9093'], clientId: 'ingest', idempotent: true, topicPrefix: '' },
      maxTextBytes: 1_048_576,
      maxBodyBytes: 2 * 1_048_576,
      outbox: { pollMs: 200, batchSize: 200 },
      logLevel: 'info',
      shutdownTimeoutMs: 10_000,
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      ...base,
      INGEST_INSTANCE_ID: 'i1',
      INGEST_HTTP_HOST: '127.0.0.1',
      INGEST_HTTP_PORT: '0',
      INGEST_POSTGRES_POOL_SIZE: '3',
      INGEST_KAFKA_CLIENT_ID: 'c',
      INGEST_KAFKA_IDEMPOTENT: 'false',
      INGEST_TOPIC_PREFIX: 'p.',
      INGEST_MAX_TEXT_BYTES: '100',
      INGEST_MAX_BODY_BYTES: '2048',
      INGEST_LOG_LEVEL: 'debug',
      INGEST_SHUTDOWN_TIMEOUT_MS: '500',
    });
    expect(c.instanceId).toBe('i1');
    expect(c.http).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.postgres.poolSize).toBe(3);
    expect(c.kafka).toMatchObject({ clientId: 'c', idempotent: false, topicPrefix: 'p.' });
    expect([c.maxTextBytes, c.maxBodyBytes, c.logLevel, c.shutdownTimeoutMs]).toEqual([100, 2048, 'debug', 500]);
  });

  it.each([['INGEST_POSTGRES_URL'], ['INGEST_KAFKA_BROKERS']])('names the missing required %s', (name) => {
    const env: Record<string, string> = { ...base };
    delete env[name];
    const e = errorOf(env);
    expect(e.variable).toBe(name);
    expect(e.message).toBe(`${name}=(unset): is required`);
  });

  // Each variable with a bad value: the error names the variable and quotes the value.
  it.each([
    ['INGEST_INSTANCE_ID', 'x'.repeat(101)],
    ['INGEST_HTTP_PORT', 'eighty'],
    ['INGEST_HTTP_PORT', '65536'],
    ['INGEST_POSTGRES_URL', 'mysql://x'],
    ['INGEST_POSTGRES_POOL_SIZE', '0'],
    ['INGEST_KAFKA_BROKERS', 'localhost'],
    ['INGEST_KAFKA_IDEMPOTENT', 'no'],
    ['INGEST_TOPIC_PREFIX', 'p'.repeat(101)],
    ['INGEST_MAX_TEXT_BYTES', '-1'],
    ['INGEST_MAX_BODY_BYTES', '1mb'],
    ['INGEST_LOG_LEVEL', 'loud'],
    ['INGEST_SHUTDOWN_TIMEOUT_MS', '1.5'],
  ])('%s=%j is rejected with the variable and the value', (name, value) => {
    const e = errorOf({ ...base, [name]: value });
    expect(e.variable).toBe(name);
    expect(e.value).toBe(value);
    expect(e.message.startsWith(`${name}=${JSON.stringify(value)}: `)).toBe(true);
  });

  it('explains the range of an integer', () => {
    expect(errorOf({ ...base, INGEST_HTTP_PORT: 'eighty' }).message).toBe(
      'INGEST_HTTP_PORT="eighty": must be an integer from 0 to 65535',
    );
    expect(errorOf({ ...base, INGEST_KAFKA_BROKERS: 'localhost' }).message).toContain('host:port');
  });

  it('rejects a text limit that no body could carry', () => {
    const e = errorOf({ ...base, INGEST_MAX_TEXT_BYTES: '4096', INGEST_MAX_BODY_BYTES: '4096' });
    expect(e.variable).toBe('INGEST_MAX_TEXT_BYTES');
    expect(e.message).toContain('INGEST_MAX_BODY_BYTES (4096)');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ...base, INGEST_HTTP_PORT: '' }).http.port).toBe(8081);
  });
});
