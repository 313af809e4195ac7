/**
 * `outputs-fit-broker`: every message the coordinator produced would be
 * accepted by a real Kafka broker with the default `message.max.bytes`
 * ({@link KAFKA_MESSAGE_MAX_BYTES}, as the Docker stack runs it). The local
 * broker accepts larger ones, so without this checker an event that a
 * production broker refuses — a batch.ready of a batch at the contract's
 * maximum size — would pass every run here and stop the outbox there.
 */
import { KAFKA_MESSAGE_MAX_BYTES } from '@chaos-lab/contracts';
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const OUTPUTS_FIT_BROKER = 'outputs-fit-broker';

export function checkOutputsFitBroker({ history }: CheckerInput, limit = KAFKA_MESSAGE_MAX_BYTES): Verdict {
  const v = new VerdictBuilder(OUTPUTS_FIT_BROKER);
  let largest = 0;
  let measured = 0;
  for (const e of history) {
    if (e.type !== 'observe' || e.bytes === undefined) continue;
    measured++;
    largest = Math.max(largest, e.bytes);
    if (e.bytes <= limit) continue;
    const what = e.event
      ? `${e.event.event_type}${'batch_id' in e.event.data ? ` of batch ${e.event.data.batch_id}` : ''}`
      : 'an unparsable output';
    v.error(
      `${what} (${e.topic}/${e.partition}@${e.offset}) is ${e.bytes} bytes, over the ${limit} bytes a real broker accepts (message.max.bytes)`,
      { topic: e.topic, partition: e.partition, offset: e.offset, bytes: e.bytes, limit },
    );
  }
  v.stat('measured', measured);
  v.stat('largestBytes', largest);
  return v.build();
}

export const outputsFitBroker = defineChecker(OUTPUTS_FIT_BROKER, (input) => checkOutputsFitBroker(input));
