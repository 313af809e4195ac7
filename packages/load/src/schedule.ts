/**
 * When each iteration of an arrival-rate executor is due, as k6 schedules it: constant-arrival-rate
 * starts iteration n at n · timeUnit / rate; ramping-arrival-rate changes the rate linearly within each
 * stage (from the previous stage's target, or startRate), so iteration n starts when the integral of
 * the rate reaches n.
 */
import { durationMs, type ArrivalConfig } from './profile.js';

interface Segment {
  readonly startMs: number;
  readonly lengthMs: number;
  /** Iterations per millisecond at the segment's start and end. */
  readonly fromRate: number;
  readonly toRate: number;
  /** Iterations scheduled before the segment. */
  readonly before: number;
  readonly count: number;
}

export class ArrivalSchedule {
  readonly totalMs: number;
  /** Iterations the schedule starts over the whole run (when none is dropped). */
  readonly plannedIterations: number;
  private readonly segments: readonly Segment[];
  private segment = 0;

  constructor(arrival: ArrivalConfig) {
    const unit = durationMs(arrival.timeUnit);
    const segments: Segment[] = [];
    if (arrival.executor === 'constant-arrival-rate') {
      const length = durationMs(arrival.duration);
      const rate = arrival.rate / unit;
      segments.push({ startMs: 0, lengthMs: length, fromRate: rate, toRate: rate, before: 0, count: rate * length });
    } else {
      let start = 0;
      let before = 0;
      let from = arrival.startRate / unit;
      for (const stage of arrival.stages) {
        const length = durationMs(stage.duration);
        const to = stage.target / unit;
        const count = ((from + to) / 2) * length;
        segments.push({ startMs: start, lengthMs: length, fromRate: from, toRate: to, before, count });
        start += length;
        before += count;
        from = to;
      }
    }
    this.segments = segments;
    const last = segments[segments.length - 1]!;
    this.totalMs = last.startMs + last.lengthMs;
    // Iteration n exists when n < total count; guard against 59.99999 from floating point.
    this.plannedIterations = Math.ceil(last.before + last.count - 1e-9);
  }

  /**
   * Milliseconds after the start at which iteration n is due, or undefined when the schedule ends
   * before it. Calls must come with non-decreasing n (the driver's order).
   */
  startOf(n: number): number | undefined {
    if (n >= this.plannedIterations) return undefined;
    while (this.segment < this.segments.length) {
      const s = this.segments[this.segment]!;
      const m = n - s.before;
      if (m < s.count - 1e-9) {
        if (m <= 0) return s.startMs;
        // Solve fromRate·t + (toRate − fromRate)·t² / (2·length) = m in the stable form 2m / (b + √(b² + 4am)).
        const a = (s.toRate - s.fromRate) / (2 * s.lengthMs);
        const b = s.fromRate;
        const t = (2 * m) / (b + Math.sqrt(Math.max(0, b * b + 4 * a * m)));
        return s.startMs + Math.min(t, s.lengthMs);
      }
      this.segment++;
    }
    return undefined;
  }
}
