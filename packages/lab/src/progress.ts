/**
 * Progress on the long waits of a run (instances starting, the group settling, a fault's window and what a fault
 * waits for after it — an instance's stop or readiness, its crash —, the pipeline finishing, the lab's readers
 * catching up): what is awaited and how much of its bound is left, at most every {@link COUNTDOWN_EVERY_MS}, one
 * plain line each — they go to CI logs and files as they are, so no line is ever rewritten in place.
 */

/** How often a wait says how long it has left. */
export const COUNTDOWN_EVERY_MS = 5000;

/** A duration left, in whole seconds (never negative): `42 s`. */
export function secondsLeft(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))} s`;
}

export interface CountdownOptions {
  /** Where the lines go; undefined: nowhere (the work is simply awaited). */
  readonly progress: ((line: string) => void) | undefined;
  /** The wait's bound, in ms from now. */
  readonly boundMs: number;
  /** The line, given the ms left of the bound (negative once it is past). */
  readonly line: (leftMs: number) => string;
  /** Default {@link COUNTDOWN_EVERY_MS}. */
  readonly everyMs?: number;
}

/** Awaits `work`, saying every `everyMs` until it settles how long is left of its bound; a short wait says nothing. */
export async function withCountdown<T>(work: Promise<T>, o: CountdownOptions): Promise<T> {
  const { progress } = o;
  if (!progress) return work;
  const end = performance.now() + o.boundMs;
  const timer = setInterval(() => progress(o.line(end - performance.now())), o.everyMs ?? COUNTDOWN_EVERY_MS);
  timer.unref();
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
