/**
 * Accumulates counterexamples and counts into a {@link Verdict}. Every error
 * is counted, but only the first {@link MAX_REPORTED_ERRORS} are kept: a
 * systematic bug can produce thousands of identical counterexamples and the
 * verdict must stay small enough to print and store.
 */
import { MAX_REPORTED_ERRORS, type Verdict, type VerdictError } from './types.js';

export class VerdictBuilder {
  private readonly errors: VerdictError[] = [];
  private count = 0;
  readonly stats: Record<string, number> = {};

  constructor(readonly checker: string) {}

  error(message: string, data: Record<string, unknown> = {}): void {
    this.count++;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push({ message, ...data });
  }

  stat(name: string, value: number): void {
    this.stats[name] = value;
  }

  add(name: string, by = 1): void {
    this.stats[name] = (this.stats[name] ?? 0) + by;
  }

  build(): Verdict {
    const v: Verdict = {
      checker: this.checker,
      valid: this.count === 0,
      errorCount: this.count,
      errors: this.errors,
      stats: this.stats,
    };
    if (this.errors[0] !== undefined) v.firstError = this.errors[0];
    return v;
  }
}
