import { describe, expect, it } from 'vitest';
import { ChaosLabError, ConfigError, InvalidArgumentError, isRetriable, showValue } from './index.js';

class PackageError extends ChaosLabError {}
class Outage extends PackageError {
  constructor(cause: unknown) {
    super('down', { retriable: true, cause });
  }
}

describe('the error tree', () => {
  it('names each error after its own class and keeps retriable and cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new Outage(cause);
    expect(err.name).toBe('Outage');
    expect(err).toBeInstanceOf(ChaosLabError);
    expect(err.retriable).toBe(true);
    expect(err.cause).toBe(cause);
    expect(isRetriable(err)).toBe(true);
    expect(isRetriable(new PackageError('bug'))).toBe(false);
    expect(isRetriable(new Error('foreign'))).toBe(false);
    expect('cause' in new PackageError('no cause')).toBe(false);
  });

  it('ConfigError names the variable and the value, unset included', () => {
    const err = new ConfigError('LAB_SEEDS', '1..x', 'must be a range such as 1..20');
    expect(err.message).toBe('LAB_SEEDS="1..x": must be a range such as 1..20');
    expect([err.variable, err.value, err.problem]).toEqual(['LAB_SEEDS', '1..x', 'must be a range such as 1..20']);
    expect(new ConfigError('COORDINATOR_REDIS_URL', undefined, 'is required').message).toBe(
      'COORDINATOR_REDIS_URL=(unset): is required',
    );
  });

  it('InvalidArgumentError names the field, the expectation and the value as it was', () => {
    expect(new InvalidArgumentError('partitions', 0, 'an integer from 1 to 1000').message).toBe(
      'partitions: expected an integer from 1 to 1000 (got 0)',
    );
    expect(new InvalidArgumentError('rate', Number.NaN, 'a number').message).toBe('rate: expected a number (got NaN)');
    expect(new InvalidArgumentError('kind', 'zookeeper', 'a fault kind').message).toContain('(got "zookeeper")');
  });

  it('shows long and circular values without throwing', () => {
    expect(showValue('x'.repeat(500))).toHaveLength(200);
    expect(showValue('x'.repeat(500), 120)).toMatch(/^"x{116}\.{3}$/);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(showValue(circular)).toBe('[object Object]');
    expect(showValue(undefined)).toBe('undefined');
  });
});
