/**
 * `outputs-fit-broker`: every message the coordinator produced would be
 * accepted by a real Kafka broker with the default `message.max.bytes`
 * ({@link KAFKA_MESSAGE_MAX_BYTES}, as the Docker stack runs it). The local
 * broker accepts larger ones, so without this checker an event that a
 * production broker refuses — a batch.ready of a batch at the contract's
 * maximum size — would pass every run here and stop the outbox there.
 *
 * A broker holds the limit against the record batch as stored, which is
 * compressed ({@link OUTPUT_COMPRESSION}): so is the measure here, the value
 * gzip-compressed plus the key. The history keeps a parsed output as its event,
 * not its bytes: its value is measured as the event's compact JSON, and the
 * rest of the recorded size (key, and whitespace the compact form drops)
 * counts uncompressed — an upper bound, never below what the broker sees. A
 * raw output is measured from its text, and its key is the rest of its size.
 */
import { gzipSync } from 'node:zlib';
import { KAFKA_MESSAGE_MAX_BYTES, OUTPUT_COMPRESSION } from '@chaos-lab/contracts';
import type { Observed } from '../history/history.js';
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const OUTPUTS_FIT_BROKER = 'outputs-fit-broker';

const COMPRESS: Record<typeof OUTPUT_COMPRESSION, (value: Buffer) => number> = {
  // Deterministic: one input, one output, whatever the machine.
  gzip: (value) => gzipSync(value).length,
};

/** What a broker counts of one output, as {@link OUTPUT_COMPRESSION} compresses it; see the module doc. */
function brokerBytes(e: Observed & { bytes: number }): number {
  const value = Buffer.from(e.raw ?? JSON.stringify(e.event), 'utf8');
  return COMPRESS[OUTPUT_COMPRESSION](value) + Math.max(0, e.bytes - value.length);
}

export function checkOutputsFitBroker({ history }: CheckerInput, limit = KAFKA_MESSAGE_MAX_BYTES): Verdict {
  const v = new VerdictBuilder(OUTPUTS_FIT_BROKER);
  let largest = 0;
  let largestUncompressed = 0;
  let measured = 0;
  for (const e of history) {
    if (e.type !== 'observe' || e.bytes === undefined) continue;
    measured++;
    const bytes = brokerBytes({ ...e, bytes: e.bytes });
    largest = Math.max(largest, bytes);
    largestUncompressed = Math.max(largestUncompressed, e.bytes);
    if (bytes <= limit) continue;
    const what = e.event
      ? `${e.event.event_type}${'batch_id' in e.event.data ? ` of batch ${e.event.data.batch_id}` : ''}`
      : 'an unparsable output';
    v.error(
      `${what} (${e.topic}/${e.partition}@${e.offset}) is ${bytes} bytes ${OUTPUT_COMPRESSION}-compressed (${e.bytes} uncompressed), over the ${limit} bytes a real broker accepts (message.max.bytes)`,
      {
        topic: e.topic,
        partition: e.partition,
        offset: e.offset,
        bytes,
        uncompressedBytes: e.bytes,
        limit,
        time: e.time,
      },
    );
  }
  v.stat('measured', measured);
  v.stat('largestBytes', largest);
  v.stat('largestUncompressedBytes', largestUncompressed);
  return v.build();
}

// Online too: an output too large stays too large.
export const outputsFitBroker = defineChecker(OUTPUTS_FIT_BROKER, (input) => checkOutputsFitBroker(input), {
  online: true,
  description: "every output fits a real Kafka broker's default message.max.bytes, compressed as stored",
});
