/**
 * Online checking: the checkers' online parts ({@link CheckerInput.online})
 * run every second while a seed goes on, over the history so far and a
 * Postgres snapshot, so that a violation is said seconds after it happens
 * instead of when the seed's fault schedule ends.
 *
 * A finding names when the violation came to be and when it was seen:
 * - from the history: the shortest prefix on which the checker fails (its
 *   online part is prefix-closed, so failing is monotone in the prefix and a
 *   bisection finds it) ends with the entry that made it — its time;
 * - from the snapshot: the latest settlement among the rows the counterexample
 *   names, by Postgres' clock (`effect_ago_ms` before the read); without one,
 *   the previous snapshot's read is the bound.
 *
 * The monitor never decides a run by itself: its findings join the final
 * verdicts (a violation seen online stays a violation even if a later state
 * hid it), and a seed without findings is judged exactly as before.
 */
import type { HistoryEntry } from '@chaos-lab/model';
import {
  EFFECT_AGO_MS,
  NO_SNAPSHOT,
  onlineCheckers,
  runOnlineCheckers,
  type Checker,
  type FinalState,
  type Verdict,
  type VerdictError,
} from '@chaos-lab/model';

export interface OnlineFinding {
  readonly checker: string;
  readonly message: string;
  /** History time (ms) the violation came to be, as exactly as the evidence says. */
  readonly effectMs: number;
  /** How `effectMs` is known: the history entry that made it, a row's settlement time, or a lower bound. */
  readonly effectFrom: 'history' | 'postgres' | 'previous-snapshot';
  /** History time (ms) the monitor saw it. */
  readonly detectedMs: number;
  readonly error: VerdictError;
}

export interface OnlineMonitorOptions {
  readonly entries: () => readonly HistoryEntry[];
  /** History time now. */
  readonly nowMs: () => number;
  /** A Postgres snapshot of the seed's batches; a failed read (a fault on Postgres) skips the snapshot's part. */
  readonly readSnapshot: () => Promise<FinalState['postgres']>;
  readonly intervalMs?: number;
  readonly progress?: (line: string) => void;
  readonly checkers?: readonly Checker[];
}

/** Checks on a timer until stopped; at most one pass at a time. */
export class OnlineMonitor {
  private readonly findings = new Map<string, OnlineFinding>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastSnapshotMs: number | undefined;
  private passes = 0;
  private snapshotFailures = 0;

  constructor(private readonly opts: OnlineMonitorOptions) {}

  start(): void {
    const every = this.opts.intervalMs ?? 1000;
    const tick = () => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        if (this.timer !== undefined) this.timer = setTimeout(tick, every);
      });
    };
    this.timer = setTimeout(tick, every);
  }

  /** Stops after a last pass over everything recorded so far. */
  async stop(): Promise<readonly OnlineFinding[]> {
    const t = this.timer;
    this.timer = undefined;
    clearTimeout(t);
    await this.running;
    if (t !== undefined) await this.pass();
    return this.result();
  }

  result(): readonly OnlineFinding[] {
    return [...this.findings.values()];
  }

  stats(): { passes: number; snapshotFailures: number } {
    return { passes: this.passes, snapshotFailures: this.snapshotFailures };
  }

  /** One pass: the snapshot first, then the history copied after it (which is therefore at least as new). */
  async pass(): Promise<void> {
    const checkers = (this.opts.checkers ?? onlineCheckers).filter((c) => !this.findings.has(c.id));
    if (checkers.length === 0) return;
    let snapshot: FinalState['postgres'] | undefined;
    const readAtMs = this.opts.nowMs();
    try {
      snapshot = await this.opts.readSnapshot();
    } catch {
      this.snapshotFailures++;
    }
    const history = this.opts.entries().slice();
    const detectedMs = this.opts.nowMs();
    this.passes++;
    for (const v of runOnlineCheckers(history, snapshot ?? NO_SNAPSHOT, checkers)) {
      if (v.valid !== false || v.firstError === undefined) continue;
      const checker = checkers.find((c) => c.id === v.checker)!;
      const f = this.locate(checker, v, history, readAtMs, detectedMs);
      this.findings.set(v.checker, f);
      this.opts.progress?.(
        `lab: online: ${f.checker} violated at +${(f.effectMs / 1000).toFixed(1)} s, seen at +${(f.detectedMs / 1000).toFixed(1)} s (${((f.detectedMs - f.effectMs) / 1000).toFixed(1)} s later): ${f.message}`,
      );
    }
    if (snapshot !== undefined) this.lastSnapshotMs = readAtMs;
  }

  private locate(
    checker: Checker,
    v: Verdict,
    history: readonly HistoryEntry[],
    readAtMs: number,
    detectedMs: number,
  ): OnlineFinding {
    const failsOn = (n: number) => runOnlineCheckers(history.slice(0, n), NO_SNAPSHOT, [checker])[0]?.valid === false;
    if (failsOn(history.length)) {
      // The history alone shows it: bisect for the shortest failing prefix.
      let lo = 0; // fails on no prefix of this length
      let hi = history.length; // fails on this one
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (failsOn(mid)) hi = mid;
        else lo = mid;
      }
      const error = runOnlineCheckers(history.slice(0, hi), NO_SNAPSHOT, [checker])[0]!.firstError!;
      return {
        checker: v.checker,
        message: error.message,
        effectMs: history[hi - 1]!.time,
        effectFrom: 'history',
        detectedMs,
        error,
      };
    }
    const error = v.firstError!;
    const ago = error[EFFECT_AGO_MS];
    if (typeof ago === 'number')
      return {
        checker: v.checker,
        message: error.message,
        effectMs: Math.max(0, readAtMs - ago),
        effectFrom: 'postgres',
        detectedMs,
        error,
      };
    return {
      checker: v.checker,
      message: error.message,
      effectMs: this.lastSnapshotMs ?? 0,
      effectFrom: 'previous-snapshot',
      detectedMs,
      error,
    };
  }
}

/**
 * The final verdicts with what was seen online: a checker the monitor caught
 * but whose final verdict passed (a later state hid it) fails with the online
 * counterexample; one that failed anyway keeps its verdict.
 */
export function withOnlineFindings(verdicts: readonly Verdict[], findings: readonly OnlineFinding[]): Verdict[] {
  return verdicts.map((v) => {
    const f = findings.find((x) => x.checker === v.checker);
    if (f === undefined || v.valid === false) return v;
    const error: VerdictError = {
      ...f.error,
      message: `seen online at +${(f.detectedMs / 1000).toFixed(1)} s, gone by the final read: ${f.message}`,
    };
    return { ...v, valid: false, errorCount: v.errorCount + 1, firstError: error, errors: [error, ...v.errors] };
  });
}
