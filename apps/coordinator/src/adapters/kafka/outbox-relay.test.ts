import { describe, expect, it } from 'vitest';
import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { isRetriableProduceError } from './outbox-relay.js';

const protocolError = (type: string, code: number, retriable: boolean) =>
  new KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable }));

describe('isRetriableProduceError', () => {
  it('holds a refusal against the row: a non-retriable answer, bailed out of or wrapped by kafkajs', () => {
    const tooLarge = protocolError('MESSAGE_TOO_LARGE', 10, false);
    expect(isRetriableProduceError(tooLarge)).toBe(false);
    expect(isRetriableProduceError(Object.assign(new KafkaJSNonRetriableError(tooLarge), { cause: tooLarge }))).toBe(
      false,
    );
    expect(isRetriableProduceError(new TypeError('cannot encode'))).toBe(false);
  });

  it('never holds a passing state against the row, even once kafkajs gave up retrying it', () => {
    const notLeader = protocolError('NOT_LEADER_OR_FOLLOWER', 6, true);
    expect(isRetriableProduceError(notLeader)).toBe(true);
    expect(
      isRetriableProduceError(new KafkaJSNumberOfRetriesExceeded(notLeader, { retryCount: 5, retryTime: 2000 })),
    ).toBe(true);
    expect(isRetriableProduceError(new KafkaJSConnectionError('Connection error: ECONNREFUSED'))).toBe(true);
  });
});
