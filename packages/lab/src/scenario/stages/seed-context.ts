/**
 * What the stages of one seed share: the compiled scenario, its session and plan, the history being recorded,
 * the completion tracker, and the watch on the test bed. {@link SeedResources} holds what a seed started, so
 * that every exit path stops it.
 */
import type { HistoryRecorder } from '@chaos-lab/model';
import type { CompiledScenario } from '../definition.js';
import type { SuiteSession } from '../session.js';
import type { OffsetSnapshot } from '../offsets.js';
import type { OutputObserver } from '../observer.js';
import type { Publisher } from '../publisher.js';
import type { OnlineMonitor } from '../online-monitor.js';
import type { SeedPlan } from './plan.js';
import type { CompletionTracker } from './completion.js';

/** What a seed's waits answer when the environment broke under them. */
export const BROKE: unique symbol = Symbol('environment broke');

/** Races a wait against the test bed breaking. */
export type Held = <T>(p: Promise<T>) => Promise<T | typeof BROKE>;

export type EnvironmentWatch = ReturnType<SuiteSession['watchEnvironment']>;

export interface SeedContext {
  readonly def: CompiledScenario;
  readonly session: SuiteSession;
  readonly seed: number;
  readonly planned: SeedPlan;
  readonly recorder: HistoryRecorder;
  readonly tracker: CompletionTracker;
  readonly observer: OutputObserver;
  readonly watch: EnvironmentWatch;
  readonly held: Held;
  /** The input topics' ends when the seed began: what came after is the seed's. */
  readonly inputStart: OffsetSnapshot;
  readonly progress: (line: string) => void;
}

/** What a seed started; {@link release} stops all of it (twice is fine). */
export class SeedResources {
  observer: OutputObserver | undefined;
  publisher: Publisher | undefined;
  monitor: OnlineMonitor | undefined;
  stopWatch: () => void = () => {};
  abortNemesis: (() => void) | undefined;
  nemesisDone: Promise<void> | undefined;
  /** The instances' lives going into the history (see instance-history.ts). */
  instanceHistory: { stop(): Promise<void> } | undefined;

  async release(): Promise<void> {
    this.stopWatch();
    await this.instanceHistory?.stop();
    await this.monitor?.stop().catch(() => undefined);
    this.abortNemesis?.();
    await this.nemesisDone?.catch(() => {});
    this.observer?.detach();
    await this.publisher?.stop();
  }
}
