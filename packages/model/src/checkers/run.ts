/**
 * Runs checkers over one (history, final state) pair. A checker is supposed
 * never to throw, but a bug in a checker must not hide the other verdicts nor
 * pass for a result: an exception becomes `valid: 'unknown'` carrying the
 * exception as its first error.
 */
import { deadLetters } from './dead-letters.js';
import { deadlinesHonoured } from './deadlines-honoured.js';
import { everyBatchFinished } from './every-batch-finished.js';
import { faultsTookEffect } from './faults-took-effect.js';
import { inputsConsumed } from './inputs-consumed.js';
import { outputsFitBroker } from './outputs-fit-broker.js';
import { noDuplicateAssignment } from './no-duplicate-assignment.js';
import { nothingLost } from './nothing-lost.js';
import { oneReadyPerBatch } from './one-ready-per-batch.js';
import { outputsHaveCauses } from './outputs-have-causes.js';
import { outputsWellFormed } from './outputs-well-formed.js';
import { storesAgree } from './stores-agree.js';
import { MAX_REPORTED_ERRORS, type Checker, type CheckerInput, type FinalState, type Verdict } from './types.js';

export const defaultCheckers: readonly Checker[] = [
  noDuplicateAssignment,
  oneReadyPerBatch,
  nothingLost,
  everyBatchFinished,
  deadlinesHonoured,
  storesAgree,
  deadLetters,
  outputsWellFormed,
  outputsFitBroker,
  faultsTookEffect,
  inputsConsumed,
  outputsHaveCauses,
];

/** The checker's stable id; tolerates plain functions passed where a {@link Checker} is expected. */
function idOf(checker: Checker, position: number): string {
  const id: unknown = (checker as { id?: unknown }).id;
  if (typeof id === 'string' && id !== '') return id;
  return checker.name !== '' ? checker.name : `checker#${position}`;
}

export function runCheckers(input: CheckerInput, checkers: readonly Checker[] = defaultCheckers): Verdict[] {
  return checkers.map((checker, i) => {
    const id = idOf(checker, i);
    try {
      const v = checker(input);
      // Enforce the cap even for checkers not built with VerdictBuilder.
      return v.errors.length > MAX_REPORTED_ERRORS ? { ...v, errors: v.errors.slice(0, MAX_REPORTED_ERRORS) } : v;
    } catch (err) {
      const firstError = {
        message: `checker threw: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
        ...(err instanceof Error && err.stack !== undefined ? { stack: err.stack } : {}),
      };
      return { checker: id, valid: 'unknown' as const, errorCount: 0, firstError, errors: [firstError], stats: {} };
    }
  });
}

/** The checkers with an online part, in {@link defaultCheckers}' order. */
export const onlineCheckers: readonly Checker[] = defaultCheckers.filter((c) => c.online);

/** No store read: the online checkers then judge the history alone. */
export const NO_SNAPSHOT: FinalState['postgres'] = { batches: [], slots: [], excess: [], pending: [] };

/**
 * The online checkers over a history still being recorded and a Postgres
 * snapshot read meanwhile ({@link CheckerInput.online}).
 */
export function runOnlineCheckers(
  history: readonly CheckerInput['history'][number][],
  postgres: FinalState['postgres'] = NO_SNAPSHOT,
  checkers: readonly Checker[] = onlineCheckers,
): Verdict[] {
  return runCheckers({ history, final: { postgres, redis: { batches: [] } }, online: true }, checkers);
}
