/**
 * When a failing verdict's violation happened, for a timeline: the earliest time any of its kept
 * counterexamples can be placed at. A counterexample is placed by its own `time` (set by its checker from
 * the history entry that made it), else by the Postgres settlement its rows name (`effect_ago_ms` before the
 * final read, when the read's history time is known). One with neither is a property of the final read only:
 * it happened at some point before the end of the run, and a caller says so rather than guess.
 */
import { EFFECT_AGO_MS, type FinalState, type Verdict, type VerdictError } from './types.js';

export interface CounterexampleTime {
  /** History ms. */
  readonly time: number;
  /** `counterexample`: its own `time`; `postgres-settlement`: its rows' settlement before the final read. */
  readonly how: 'counterexample' | 'postgres-settlement';
}

export interface FirstViolation extends CounterexampleTime {
  /** Its place in the verdict's `errors`. */
  readonly index: number;
  readonly error: VerdictError;
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Where a counterexample can be placed in the history's time; undefined when nothing in it says. */
export function counterexampleTime(
  error: VerdictError,
  final?: Pick<FinalState, 'readAtMs'>,
): CounterexampleTime | undefined {
  if (isTime(error.time)) return { time: error.time, how: 'counterexample' };
  const ago = error[EFFECT_AGO_MS];
  if (isTime(ago) && isTime(final?.readAtMs))
    return { time: Math.max(0, final.readAtMs - ago), how: 'postgres-settlement' };
  return undefined;
}

/**
 * The earliest placed counterexample of a failing verdict (ties: the first listed); undefined for a verdict
 * that holds or is unknown, and for one none of whose counterexamples can be placed.
 */
export function firstViolation(verdict: Verdict, final?: Pick<FinalState, 'readAtMs'>): FirstViolation | undefined {
  if (verdict.valid !== false) return undefined;
  let first: FirstViolation | undefined;
  verdict.errors.forEach((error, index) => {
    const t = counterexampleTime(error, final);
    if (t !== undefined && (first === undefined || t.time < first.time)) first = { ...t, index, error };
  });
  return first;
}
