/**
 * The input contract's maxima, as zod counts them: string lengths in code points (a surrogate pair is one, a
 * lone surrogate one), so "at the limit" and "one past it" are measured that way (see `toLength`).
 */

/** An Id (batch, text storage, upload id). */
export const MAX_ID = 200;
export const MAX_FILE_NAME = 500;
export const MAX_REASON = 2000;
export const MAX_CORRELATION = 200;
/** Essay ids of one registration. */
export const MAX_ESSAYS = 10_000;
