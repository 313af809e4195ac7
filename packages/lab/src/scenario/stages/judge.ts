/**
 * Stage 4 of a seed, judge: the checkers over the history and the final read, what the online checkers saw,
 * and the environment-held verdict when the test bed broke under the run. Pure: data in, verdicts out.
 */
import { runCheckers, type HistoryEntry, type Verdict } from '@chaos-lab/model';
import { withOnlineFindings, type OnlineFinding } from '../online-monitor.js';

/**
 * The verdict row added when the test bed itself broke during a seed (a
 * server died on its own). It fails the seed, and is never counted as a
 * finding about the coordinator (the mutant matrix ignores it).
 */
export const ENVIRONMENT_HELD = 'environment-held';

/** The final read the checkers take. */
export type FinalRead = Parameters<typeof runCheckers>[0]['final'];

export interface JudgeInput {
  readonly history: readonly HistoryEntry[];
  readonly final: FinalRead;
  readonly online: readonly OnlineFinding[];
  /** What broke in the test bed during the run (empty: it held). */
  readonly broken: readonly string[];
}

/** The verdicts of a seed. A test bed that broke voids them: said as such, never as a finding about the system. */
export function judge({ history, final, online, broken }: JudgeInput): Verdict[] {
  const verdicts = withOnlineFindings(runCheckers({ history, final }), online);
  if (broken.length > 0) verdicts.push(environmentHeldVerdict(broken));
  return verdicts;
}

/** The failing {@link ENVIRONMENT_HELD} row for what broke. */
export function environmentHeldVerdict(broken: readonly string[]): Verdict {
  const errors = broken.map((message) => ({ message }));
  return {
    checker: ENVIRONMENT_HELD,
    valid: false,
    errorCount: errors.length,
    firstError: errors[0]!,
    errors,
    stats: {},
  };
}

/** A seed is valid when every verdict holds and the pipeline finished in time. */
export function seedValid(verdicts: readonly Verdict[], timedOut: boolean): boolean {
  return verdicts.every((v) => v.valid === true) && !timedOut;
}
