/**
 * The nemesis: faults as data. A {@link FaultSpec} is a plain JSON object —
 * it goes into the run's plan, so a replay injects exactly the same faults —
 * and each kind has one implementation (in the module of its family) that
 * starts it and returns an {@link ActiveFault} that ends it.
 *
 * Every fault must show that it took effect: its implementation returns
 * evidence (an error count that rose, a latency measured through the proxy,
 * a process that is really gone or stopped, a store that is really empty).
 * A fault without evidence fails the run — a chaos test whose faults silently
 * did nothing proves nothing.
 */
import type { Links } from '../links/links.js';
import type { StartedEnvironment } from '../environment/index.js';
import type { ProviderCapabilities } from '../environment/capabilities.js';
import type { CoordinatorInstances } from '../instances/instances.js';
import type { FaultSpecs } from './catalogue.js';
import type { FaultDrawContext } from './plan/fault-schedule.js';

export type { FaultSpecs };

/** A fault's kind: a key of the catalogue. */
export type FaultKind = keyof FaultSpecs;

/** Any fault: one of the specs of {@link FaultSpecs}, each declared in its family's module. */
export type FaultSpec = { [K in FaultKind]: FaultSpecs[K] }[FaultKind];

/**
 * The spec of kind `K`, with its `kind` typed `K`: what a function generic in the kind takes, so that
 * `catalogue[spec.kind]` is that kind's definition to the compiler too (the correlated-union pattern).
 */
export type SpecOf<K extends FaultKind> = FaultSpecs[K] & { readonly kind: K };

export interface PlannedFault {
  /** Milliseconds after the workload starts. */
  readonly at: number;
  /** How long the fault lasts. */
  readonly durationMs: number;
  readonly spec: FaultSpec;
}

export interface NemesisContext {
  readonly env: StartedEnvironment;
  readonly instances: CoordinatorInstances;
  readonly links: Links;
  /** Input topic names of the run (for leader moves). */
  readonly inputTopics: readonly string[];
  /** The current build, when the instances started on a baseline (a rolling upgrade moves them to it). */
  readonly upgradeEntry?: string;
}

/** What a fault observed about itself; `took effect` is judged from it. */
export interface FaultEvidence {
  readonly tookEffect: boolean;
  readonly detail: Record<string, unknown>;
}

export interface ActiveFault {
  /** Ends the fault; resolves with the evidence gathered over its window. */
  end(): Promise<FaultEvidence>;
}

/** What the runner needs of a fault: a label, a start, and whether a provider can run it. */
export interface FaultImplementation<K extends FaultKind = FaultKind> {
  /** A short label for the timeline, e.g. `latency 200ms redis@coordinator-2`. */
  readonly label: (spec: FaultSpecs[K]) => string;
  readonly start: (spec: FaultSpecs[K], ctx: NemesisContext) => Promise<ActiveFault>;
  /** Why this fault cannot run on a provider with these capabilities; undefined when it can (the default). */
  readonly unsupported?: (spec: FaultSpecs[K], caps: ProviderCapabilities) => string | undefined;
}

/** How the mixed nemesis draws a fault of kind `K`, and what the fault takes out of service. */
export interface FaultMakerEntry<K extends FaultKind = FaultKind> {
  /** Draws one fault of this kind; undefined when the run offers none (no broker but the group coordinator's). */
  readonly make: (ctx: FaultDrawContext) => FaultSpecs[K] | undefined;
  /** Its own duration range, when the planner's default does not suit it. */
  readonly durationMs?: readonly [number, number];
  /**
   * Its evidence needs traffic (a crash after the nth commit, errors on offset commits): it starts within this
   * fraction of the time the workload sends. Default: anywhere.
   */
  readonly startWithin?: number;
  /** At most this many in one plan. Default: no limit. */
  readonly maxPerPlan?: number;
  /** The instances it takes out of service while on: killed, paused, restarting, cut off from a store. */
  readonly disables?: (spec: FaultSpecs[K], instanceIds: readonly string[]) => readonly string[];
}

/**
 * Everything about one fault kind, in the module of its family: its label, where it cannot run, what it holds
 * while on (resources.ts says why faults hold things), how the mixed nemesis draws one, and how it starts and
 * gathers its evidence. The catalogue lists one per kind.
 */
export interface FaultDefinition<K extends FaultKind> extends FaultImplementation<K>, FaultMakerEntry<K> {
  readonly kind: K;
  /** The resources it holds while on, given the run's instance ids: two faults that share one never overlap. */
  readonly holds: (spec: FaultSpecs[K], instanceIds: readonly string[]) => readonly string[];
}
