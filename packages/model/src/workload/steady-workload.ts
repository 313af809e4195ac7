/**
 * The steady workload several fault scenarios share: 15 batches of 10
 * slots, bursts of 6 copies, nothing hostile — traffic a fault can be seen
 * against, and no more. A scenario that wants other traffic calls
 * `planAssignmentWorkload` with its own options.
 */
import { planAssignmentWorkload, type AssignmentPlan, type AssignmentWorkloadOptions } from './assignment-workload.js';

/** Where the workload goes: what a scenario's plan is given besides the seed. */
export type WorkloadPlacement = Pick<AssignmentWorkloadOptions, 'partitions' | 'idPrefix' | 'topics'>;

/** The steady workload's options, but where it goes. */
export const STEADY_WORKLOAD = { batches: 15, slotsPerBatch: 10, burstCopies: 6 } as const;

export function steadyWorkload(seed: number, where: WorkloadPlacement): AssignmentPlan {
  return planAssignmentWorkload(seed, {
    ...STEADY_WORKLOAD,
    partitions: where.partitions,
    idPrefix: where.idPrefix,
    topics: where.topics,
  });
}
