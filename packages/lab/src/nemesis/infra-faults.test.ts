/** How the infrastructure faults judge their evidence, read from the infrastructure itself. */
import { describe, expect, it } from 'vitest';
import {
  brokerDown,
  brokerDownTookEffect,
  leaderMoveTookEffect,
  postgresRestartTookEffect,
  redisRestartTookEffect,
  requestErrorsJudgement,
} from './infra-faults.js';
import { SeededRandom } from '@chaos-lab/model';
import { GROUP_COORDINATOR_BROKER } from '../scenario/session.js';
import { capabilitiesOf } from '../environment/capabilities.js';

describe('how the infrastructure faults judge their evidence', () => {
  it('redis-restart: the sentinel key written before is gone after', () => {
    expect(redisRestartTookEffect(false)).toBe(true);
    expect(redisRestartTookEffect(true)).toBe(false);
  });

  it('postgres-restart: another process serves after it', () => {
    expect(postgresRestartTookEffect(100, 200)).toBe(true);
    expect(postgresRestartTookEffect(100, 100)).toBe(false);
    // A server the lab does not run itself (a container) has no pid to compare: no evidence.
    expect(postgresRestartTookEffect(undefined, undefined)).toBe(false);
  });

  it('broker-down: a connection to its address was refused while down', () => {
    expect(brokerDownTookEffect(true)).toBe(true);
    expect(brokerDownTookEffect(false)).toBe(false);
  });

  it('leader-move: the metadata names the new leader', () => {
    expect(leaderMoveTookEffect(2, 2)).toBe(true);
    expect(leaderMoveTookEffect(1, 2)).toBe(false);
    expect(leaderMoveTookEffect(undefined, 2)).toBe(false);
  });

  it('request-errors: a client error counted; no error and none met by a request is no opportunity', () => {
    expect(requestErrorsJudgement(1, 1)).toEqual({ tookEffect: true, noOpportunity: false });
    // Counted by the clients though the broker's stack says none were met (counted late): still the effect.
    expect(requestErrorsJudgement(2, 0)).toEqual({ tookEffect: true, noOpportunity: false });
    // Met by a request but no client counted it: a fault without effect.
    expect(requestErrorsJudgement(0, 1)).toEqual({ tookEffect: false, noOpportunity: false });
    expect(requestErrorsJudgement(0, 0)).toEqual({ tookEffect: false, noOpportunity: true });
  });
});

describe('broker-down', () => {
  const draw = (brokerIds: number[], seed: number) =>
    brokerDown.make({
      rng: new SeededRandom(seed),
      instanceIds: ['c-1'],
      brokerIds,
      inputTopics: ['t'],
      partitions: 1,
    });

  it('is never drawn on the group coordinator, nor at all when it is the only broker', () => {
    for (let seed = 1; seed <= 30; seed++) expect(draw([1, 2, 3], seed)?.broker).not.toBe(GROUP_COORDINATOR_BROKER);
    expect(draw([GROUP_COORDINATOR_BROKER], 1)).toBeUndefined();
  });

  it('is refused on a provider without that broker', () => {
    const caps = capabilitiesOf('local');
    const missing = Math.max(...caps.kafkaBrokerIds) + 1;
    expect(brokerDown.unsupported?.({ kind: 'broker-down', broker: missing }, caps)).toMatch(/no broker/);
    expect(brokerDown.unsupported?.({ kind: 'broker-down', broker: caps.kafkaBrokerIds[0]! }, caps)).toBeUndefined();
  });
});
