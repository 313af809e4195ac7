/**
 * The fuzz workload: an ordinary assignment workload whose file names come
 * from a small pool (so different uploads collide by themselves), with
 * generated hostile messages ({@link planHostileInputs}) spread through it at
 * seeded positions and partitions — on the same partitions as real batches,
 * so that a message that blocks its partition blocks real work, and the
 * liveness verdict sees it.
 *
 * A share of the ordinary batches is registered with a far deadline (by
 * default ten minutes, far beyond any run): they must become ready, never
 * time out. With the deadline batches of the workload (`timeoutBatches`,
 * which must time out), every batch that carries a deadline is one an
 * instance with a skewed clock may close at the wrong time — the
 * `deadlines-honoured` checker compares Postgres' own close time with it.
 *
 * A pure function of the seed, like every plan: the hostile messages draw
 * from their own stream of the seed, so changing their count never changes
 * the ordinary workload.
 */
import { SeededRandom } from '../random.js';
import { InvalidArgumentError } from '@chaos-lab/errors';
import { planAssignmentWorkload, type AssignmentPlan, type AssignmentWorkloadOptions } from './assignment-workload.js';
import { planHostileInputs } from './hostile-inputs.js';

export interface FuzzWorkloadOptions extends AssignmentWorkloadOptions {
  /** Generated hostile messages spread through the workload. Default 30. */
  readonly hostile?: number;
  /** Share of the ordinary batches registered with a far deadline (they must become ready). Default 0.5. */
  readonly farDeadlineRatio?: number;
  /** That deadline, relative to the registration's publish. Default 600 000 ms. */
  readonly farDeadlineMs?: number;
}

/** The hostile stream's seed is the workload's xor this, so the two never share draws. */
const HOSTILE_STREAM = 0x5eed_f022;
/** The stream that picks the batches with a far deadline. */
const FAR_DEADLINE_STREAM = 0x0dea_d11e;

export function planFuzzWorkload(seed: number, o: FuzzWorkloadOptions): AssignmentPlan {
  const { hostile: count = 30, farDeadlineRatio = 0.5, farDeadlineMs = 600_000, ...workload } = o;
  if (!Number.isInteger(count) || count < 0 || count > 100_000)
    throw new InvalidArgumentError('hostile', count, 'an integer from 0 to 100000');
  if (!(farDeadlineRatio >= 0 && farDeadlineRatio <= 1))
    throw new InvalidArgumentError('farDeadlineRatio', farDeadlineRatio, 'a number from 0 to 1');
  if (!Number.isInteger(farDeadlineMs) || farDeadlineMs < 1000 || farDeadlineMs > 86_400_000)
    throw new InvalidArgumentError('farDeadlineMs', farDeadlineMs, 'an integer from 1000 to 86400000');
  const base = planAssignmentWorkload(seed, workload);
  const far = new SeededRandom((seed ^ FAR_DEADLINE_STREAM) >>> 0);
  const plan = {
    ...base,
    publishes: base.publishes.map((p) =>
      (p.role === 'registration' || p.role === 'late-registration') && far.chance(farDeadlineRatio)
        ? { ...p, deadlineInMs: farDeadlineMs }
        : p,
    ),
  };
  const partitions = plan.options.partitions;
  const hostile = planHostileInputs((seed ^ HOSTILE_STREAM) >>> 0, {
    count,
    idPrefix: o.idPrefix,
    partitions,
    ...(o.topics && { topics: o.topics }),
  });
  const rng = new SeededRandom((seed ^ HOSTILE_STREAM ^ 0xffff) >>> 0);
  const publishes = [...plan.publishes];
  for (const h of hostile) {
    // Never inside a group that must go out in one request (the burst).
    let pos = rng.int(0, publishes.length);
    while (
      pos > 0 &&
      pos < publishes.length &&
      publishes[pos]?.group !== undefined &&
      publishes[pos - 1]?.group === publishes[pos]?.group
    )
      pos--;
    publishes.splice(pos, 0, { ...h, partition: h.partition ?? rng.int(0, partitions - 1) });
  }
  return { ...plan, publishes, expected: { ...plan.expected, poison: plan.expected.poison + hostile.length } };
}
