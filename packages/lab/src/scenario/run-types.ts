/**
 * The options and results of a run: what a caller passes to `runScenario`/`runSuite` and gets back per seed.
 */
import type { Verdict } from '@chaos-lab/model';
import type { ProviderName } from '../environment/index.js';
import type { OnlineFinding } from './online-monitor.js';

export interface RunOptions {
  readonly seed: number;
  /** Built coordinator entry point. */
  readonly coordinatorEntry: string;
  /** Where run folders go. Default `LAB_RUNS_DIR` or `./runs`. */
  readonly runsDir?: string;
  /** Progress and result lines. Default: stderr/stdout. */
  readonly out?: (line: string) => void;
  readonly progress?: (line: string) => void;
  /** The command that replays this run, printed at the end. */
  readonly replayCommand?: string;
  /**
   * A known-bad variant of the coordinator to run instead of the production
   * one (`COORDINATOR_VARIANT` of its lab-only entry point); `coordinatorEntry`
   * must then be that entry point.
   */
  readonly variant?: string;
  /** Where the infrastructure comes from. Default: `LAB_PROVIDER`, else `local`. */
  readonly provider?: ProviderName;
}

export interface RunResult {
  readonly runId: string;
  readonly runDir: string;
  readonly valid: boolean;
  readonly verdicts: Verdict[];
  readonly stats: RunStats;
  /** Folders of earlier runs of this seed that were void: the environment broke under them. */
  readonly voidRuns?: readonly string[];
}

export interface RunStats {
  readonly seed: number;
  readonly environmentStartupMs: number;
  readonly instancesReadyMs: number;
  readonly workloadMs: number;
  readonly wallMs: number;
  readonly published: number;
  readonly contents: number;
  readonly observed: number;
  /** Distinct contents settled (assigned or excess) per second, first publish to last settlement. */
  readonly contentsPerSecond: number;
  readonly timedOut: boolean;
  /** True when the run gave up because nothing progressed for the stall timeout. */
  readonly stalled: boolean;
  /** Exit code of each instance after SIGTERM (0 = clean shutdown). */
  readonly instanceExitCodes: (number | null)[];
  /** What the online checkers saw while the seed ran (first finding per checker); absent in older runs. */
  readonly online?: readonly Omit<OnlineFinding, 'error'>[];
}
