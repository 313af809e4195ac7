/**
 * `deadlines-honoured`: a batch times out only once its deadline has passed,
 * by the clock of the store that records the close. Postgres stamps
 * `closed_at` with its own `now()` whatever instance closes a batch, so the
 * final read answers by one clock: a batch whose `closed_at` is before its
 * `deadline` was timed out early — what an instance whose clock runs ahead
 * does when it compares deadlines with its own time. A timed-out batch
 * without a deadline, or without a close time, is an error too.
 *
 * Reads only the final state; older runs, whose final read has no deadline
 * or close time, give no error and say so in the stats (`unread`).
 */
import { defineChecker, type CheckerInput, type Verdict } from './types.js';
import { VerdictBuilder } from './verdict.js';

export const DEADLINES_HONOURED = 'deadlines-honoured';

export function checkDeadlinesHonoured({ final }: CheckerInput): Verdict {
  const v = new VerdictBuilder(DEADLINES_HONOURED);
  let timedOut = 0;
  let unread = 0;
  let withDeadline = 0;
  for (const b of final.postgres.batches) {
    if (b.deadline !== undefined && b.deadline !== null) withDeadline++;
    if (b.status !== 'timed_out') continue;
    timedOut++;
    if (b.deadline === undefined || b.closed_at === undefined) {
      unread++;
      continue;
    }
    if (b.deadline === null) {
      v.error(`batch ${b.batch_id} timed out but has no deadline`, { batch_id: b.batch_id });
      continue;
    }
    if (b.closed_at === null) {
      v.error(`batch ${b.batch_id} timed out but has no close time`, { batch_id: b.batch_id });
      continue;
    }
    const early = Date.parse(b.deadline) - Date.parse(b.closed_at);
    if (early > 0)
      v.error(
        `batch ${b.batch_id} timed out ${(early / 1000).toFixed(1)} s before its deadline (closed ${b.closed_at}, deadline ${b.deadline}, both by Postgres' clock)`,
        { batch_id: b.batch_id, deadline: b.deadline, closed_at: b.closed_at, earlyMs: early },
      );
  }
  v.stat('batchesWithDeadline', withDeadline);
  v.stat('timedOut', timedOut);
  v.stat('unread', unread);
  return v.build();
}

export const deadlinesHonoured = defineChecker(DEADLINES_HONOURED, checkDeadlinesHonoured, {
  description: 'a batch times out only after its deadline, by the clock of the store that closes it',
});
