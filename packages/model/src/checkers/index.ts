/**
 * Checkers: pure functions from a recorded history plus a final read of the
 * stores to verdicts. See `types.ts` for the model and each module's header
 * for the property it checks.
 */
export * from './types.js';
export { VerdictBuilder } from './verdict.js';
export { runCheckers, defaultCheckers, runOnlineCheckers, onlineCheckers, NO_SNAPSHOT } from './run.js';
export { formatVerdictTable, truncate, COUNTEREXAMPLE_WIDTH } from './format.js';
export {
  noDuplicateAssignment,
  checkNoDuplicateAssignment,
  NO_DUPLICATE_ASSIGNMENT,
} from './no-duplicate-assignment.js';
export { oneReadyPerBatch, checkOneReadyPerBatch, ONE_READY_PER_BATCH } from './one-ready-per-batch.js';
export { nothingLost, checkNothingLost, NOTHING_LOST, PARKED_TTL_MS, parkedTtlDue } from './nothing-lost.js';
export {
  everyBatchFinished,
  checkEveryBatchFinished,
  EVERY_BATCH_FINISHED,
  closableBatches,
} from './every-batch-finished.js';
export { deadlinesHonoured, checkDeadlinesHonoured, DEADLINES_HONOURED } from './deadlines-honoured.js';
export { storesAgree, checkStoresAgree, STORES_AGREE } from './stores-agree.js';
export { deadLetters, checkDeadLetters, DEAD_LETTERS } from './dead-letters.js';
export { faultsTookEffect, checkFaultsTookEffect, FAULTS_TOOK_EFFECT } from './faults-took-effect.js';
export { outputsWellFormed, checkOutputsWellFormed, OUTPUTS_WELL_FORMED } from './outputs-well-formed.js';
export { inputsConsumed, checkInputsConsumed, INPUTS_CONSUMED } from './inputs-consumed.js';
export { outputsHaveCauses, checkOutputsHaveCauses, OUTPUTS_HAVE_CAUSES } from './outputs-have-causes.js';
export { outputsFitBroker, checkOutputsFitBroker, OUTPUTS_FIT_BROKER } from './outputs-fit-broker.js';
export { counterexampleTime, firstViolation, type CounterexampleTime, type FirstViolation } from './first-violation.js';
