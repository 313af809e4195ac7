/**
 * `inputs-consumed`: liveness of the consumer, judged in seconds. After the
 * workload and the final heal, every input partition must be consumed to its
 * end within a bound: the coordinators' group has committed up to the
 * offset after the last message of the topic. A partition whose committed
 * offset stays behind is stuck at that offset — one message blocking every
 * message behind it, whatever the reason (a dead letter that cannot be
 * written, an error retried for ever, a crashed consumer nobody replaced).
 *
 * The runner reads the group's committed offsets and, for a stuck partition,
 * what it can learn about the blocking message: its bytes (from the topic),
 * the instance retrying it, how often and with what last error (from that
 * instance's log), and the batches whose inputs wait behind it. This checker
 * only judges that read; it is a pure function like the others, and says
 * `unknown` when the runner could not read the group at all.
 */
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const INPUTS_CONSUMED = 'inputs-consumed';

export function checkInputsConsumed({ final }: CheckerInput): Verdict {
  const v = new VerdictBuilder(INPUTS_CONSUMED);
  const c = final.consumption;
  if (c === undefined) return v.build();
  if (c.unavailable !== undefined) {
    return { ...v.build(), valid: 'unknown', firstError: { message: `consumer group unreadable: ${c.unavailable}` } };
  }
  let behind = 0;
  for (const p of c.partitions) {
    // "-1": the group never committed here, so it stands at the partition's start.
    const committed = BigInt(p.committed) < 0n ? 0n : BigInt(p.committed);
    const end = BigInt(p.end);
    if (committed >= end) continue;
    behind += Number(end - committed);
    const s = p.stuck;
    const who =
      s?.instance === undefined
        ? 'no instance logged an error for it'
        : s.attempts > 0
          ? `${s.instance} failed it ${s.attempts} time(s)${s.lastError ? `, last: ${s.lastError}` : ''}`
          : `its consumer ${s.instance} ${s.heldBy ? `is held by ${s.heldBy}, which it keeps failing` : 'logged no error for it'}`;
    const what = s?.value !== undefined ? `; the message: ${s.value}` : '';
    const waiting = s?.batches && s.batches.length > 0 ? `; waiting behind it: batch ${s.batches.join(', ')}` : '';
    const since =
      s?.publishedAtMs !== undefined && c.judgedAtMs !== undefined
        ? `, blocking for ${((c.judgedAtMs - s.publishedAtMs) / 1000).toFixed(1)} s since its publish`
        : '';
    v.error(
      `input ${p.topic}/${p.partition} stuck at offset ${committed} (end ${p.end}) ${c.boundMs} ms after the heal${since}: ${who}${what}${waiting}`,
      { topic: p.topic, partition: p.partition, committed: p.committed, end: p.end, ...(s && { stuck: s }) },
    );
  }
  v.stat('partitions', c.partitions.length);
  v.stat('messagesBehind', behind);
  v.stat('boundMs', c.boundMs);
  return v.build();
}

export const inputsConsumed = defineChecker(INPUTS_CONSUMED, checkInputsConsumed, {
  description: "the coordinators' group commits every input partition to its end within a bound",
});
