/**
 * Which dependency errors the consumer retries (the message waits) and which it counts towards
 * dead-lettering (the message is given up after a few attempts). An error of a passing state — a failover,
 * a restart, a busy server — dead-lettered would lose valid input ~150 ms into an ordinary failover.
 */
import { describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import { isRetriablePgError } from './postgres/database.js';
import { isTransientRedisReply } from './redis/redis-cache.js';

describe('retriable dependency errors', () => {
  it('Redis: the replies of a failover, a restart, a busy script or a full memory are transient', () => {
    for (const m of [
      "READONLY You can't write against a read only replica.",
      'LOADING Redis is loading the dataset in memory',
      'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.',
      "OOM command not allowed when used memory > 'maxmemory'.",
      'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'CLUSTERDOWN The cluster is down',
    ])
      expect(isTransientRedisReply(new ReplyError(m)), m).toBe(true);
  });

  it('Redis: a script error or a wrong type is not (a bug or corrupt state)', () => {
    for (const m of [
      'ERR Error running script (call to f_1): @user_script:1: user_script:1: attempt to index a nil value',
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      'NOSCRIPT No matching script. Please use EVAL.',
    ])
      expect(isTransientRedisReply(new ReplyError(m)), m).toBe(false);
    expect(isTransientRedisReply(new Error('READONLY but not a reply'))).toBe(false);
  });

  it('PostgreSQL: a read-only standby (25006) and a lock not available (55P03) are retried', () => {
    expect(isRetriablePgError({ code: '25006' })).toBe(true);
    expect(isRetriablePgError({ code: '55P03' })).toBe(true);
    expect(isRetriablePgError({ code: '40001' })).toBe(true);
    expect(isRetriablePgError({ code: '57P01' })).toBe(true);
    expect(isRetriablePgError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('PostgreSQL: constraint, data and syntax errors are not', () => {
    for (const code of ['23505', '22021', '22P05', '42P01', '25001', '55000', '25P02'])
      expect(isRetriablePgError({ code }), code).toBe(false);
  });
});
