import { describe, expect, it } from 'vitest';
import { KAFKA_MESSAGE_MAX_BYTES } from '@chaos-lab/contracts';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';

const base = {
  COORDINATOR_REDIS_URL: 'redis://127.0.0.1:6379',
  COORDINATOR_POSTGRES_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
  COORDINATOR_KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
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
  it('applies defaults and parses the broker list', () => {
    const c = loadConfig(base);
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(c.kafka.idempotent).toBe(true);
    expect(c.kafka.maxWaitMs).toBe(500);
    expect(c.http.port).toBe(8080);
  });

  it('names a missing required variable', () => {
    const { COORDINATOR_REDIS_URL: _omit, ...rest } = base;
    const e = errorOf(rest);
    expect(e.variable).toBe('COORDINATOR_REDIS_URL');
    expect(e.message).toBe('COORDINATOR_REDIS_URL=(unset): is required');
  });

  it('names the variable and the bad value', () => {
    const e = errorOf({ ...base, COORDINATOR_HTTP_PORT: 'eighty' });
    expect(e.variable).toBe('COORDINATOR_HTTP_PORT');
    expect(e.value).toBe('eighty');
    expect(e.message).toContain('COORDINATOR_HTTP_PORT="eighty"');
  });

  it('rejects a malformed broker list', () => {
    expect(errorOf({ ...base, COORDINATOR_KAFKA_BROKERS: 'localhost' }).message).toContain('host:port');
  });

  it('rejects a heartbeat interval too close to the session timeout', () => {
    const e = errorOf({
      ...base,
      COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: '3000',
      COORDINATOR_KAFKA_HEARTBEAT_INTERVAL_MS: '1500',
    });
    expect(e.variable).toBe('COORDINATOR_KAFKA_HEARTBEAT_INTERVAL_MS');
  });

  it("holds outputs to a real broker's message.max.bytes by default, and names a bad limit", () => {
    expect(loadConfig(base).kafka.maxMessageBytes).toBe(KAFKA_MESSAGE_MAX_BYTES);
    expect(loadConfig({ ...base, COORDINATOR_KAFKA_MAX_MESSAGE_BYTES: '16384' }).kafka.maxMessageBytes).toBe(16_384);
    for (const value of ['1mb', '100', '-1', String(200 * 1024 * 1024)]) {
      const e = errorOf({ ...base, COORDINATOR_KAFKA_MAX_MESSAGE_BYTES: value });
      expect(e.variable).toBe('COORDINATOR_KAFKA_MAX_MESSAGE_BYTES');
      expect(e.message).toBe(
        `COORDINATOR_KAFKA_MAX_MESSAGE_BYTES=${JSON.stringify(value)}: must be an integer from 1024 to 104857600`,
      );
    }
  });

  it('parses booleans strictly', () => {
    expect(loadConfig({ ...base, COORDINATOR_KAFKA_IDEMPOTENT: 'false' }).kafka.idempotent).toBe(false);
    expect(errorOf({ ...base, COORDINATOR_KAFKA_IDEMPOTENT: 'no' }).variable).toBe('COORDINATOR_KAFKA_IDEMPOTENT');
  });
});

describe('COORDINATOR_FAILPOINTS', () => {
  it('is empty (inert) by default and parses name=N', () => {
    expect(loadConfig(base).failpoints.size).toBe(0);
    expect([...loadConfig({ ...base, COORDINATOR_FAILPOINTS: 'after-commit-before-offset=3' }).failpoints]).toEqual([
      ['after-commit-before-offset', 3],
    ]);
  });

  it('names the variable and the bad part', () => {
    const e = errorOf({ ...base, COORDINATOR_FAILPOINTS: 'crash-everything=1' });
    expect(e.variable).toBe('COORDINATOR_FAILPOINTS');
    expect(e.message).toContain('"crash-everything=1" is not name=N');
  });
});
