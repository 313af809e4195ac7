/**
 * The lab's pure model — where a reader starts. Everything here is a
 * function of its inputs: no I/O, no server, no clock but the one passed in.
 *
 * - `history/`: what a run records (publishes invoked and completed, outputs
 *   observed, faults, instance events) and its JSON-lines form.
 * - `checkers/`: pure functions from a history plus a final read of the
 *   stores to verdicts; `run.ts` lists the ones every run applies.
 * - `workload/`: seeded plans of inputs drawn from the contracts.
 * - `random.ts`: the seeded random source every plan draws from.
 *
 * The lab (`@chaos-lab/lab`) drives servers and faults and records into a
 * history; this package judges it.
 */
export { SeededRandom } from './random.js';
export {
  planAssignmentWorkload,
  type AssignmentWorkloadOptions,
  type AssignmentPlan,
  type PlannedPublish,
} from './workload/assignment-workload.js';
export { steadyWorkload, STEADY_WORKLOAD, type WorkloadPlacement } from './workload/steady-workload.js';
export { planFuzzWorkload, type FuzzWorkloadOptions } from './workload/fuzz-workload.js';
export {
  planHostileInputs,
  contractAccepts,
  HOSTILE_CLASSES,
  type HostileInputOptions,
} from './workload/hostile-inputs.js';
export * from './history/history.js';
export * from './history/timeline.js';
export * from './checkers/index.js';
