/**
 * What a fault definition is made of, generic in its spec: the types a family
 * module (`link-faults.ts`, …) needs to define its kinds. Nothing here knows
 * the catalogue, so the family modules never import it (the catalogue
 * imports them).
 */
import type { SeededRandom } from '@chaos-lab/model';
import type { Links } from '../links/links.js';
import type { StartedEnvironment } from '../environment/index.js';
import type { ProviderCapabilities } from '../environment/capabilities.js';
import type { CoordinatorInstances } from '../instances/instances.js';

/** The families of fault kinds, one module each (`<family>-faults.ts`). */
export type FaultFamily = 'link' | 'process' | 'infra' | 'store' | 'clock';

/** What every fault spec has: its kind. Specs are plain JSON (they go into plans). */
export interface SpecLike {
  readonly kind: string;
}

export interface FaultDrawContext {
  readonly rng: SeededRandom;
  /** Instance ids, e.g. coordinator-1..3. */
  readonly instanceIds: readonly string[];
  readonly brokerIds: readonly number[];
  readonly inputTopics: readonly string[];
  readonly partitions: number;
  /** What the provider the plan is for can run (the mixed planner draws only that). Absent: see planMixedFaults. */
  readonly capabilities?: ProviderCapabilities;
}

export interface NemesisContext {
  readonly env: StartedEnvironment;
  readonly instances: CoordinatorInstances;
  readonly links: Links;
  /** Input topic names of the run (for leader moves). */
  readonly inputTopics: readonly string[];
  /** The current build, when the instances started on a baseline (a rolling upgrade moves them to it). */
  readonly upgradeEntry?: string;
  /**
   * The run's progress sink, where a fault counts down a wait of its own that can last longer than a countdown
   * period (`withCountdown`): an instance's readiness, a crash it waits for. `runNemesis` sets it to its own
   * `progress`; undefined: the faults wait silently.
   */
  readonly progress?: ((line: string) => void) | undefined;
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
export interface FaultImplementation<S extends SpecLike> {
  /** A short label for the timeline, e.g. `latency 200ms redis@coordinator-2`. */
  readonly label: (spec: S) => string;
  readonly start: (spec: S, ctx: NemesisContext) => Promise<ActiveFault>;
  /** Why this fault cannot run on a provider with these capabilities; undefined when it can (the default). */
  readonly unsupported?: (spec: S, caps: ProviderCapabilities) => string | undefined;
}

/** How the mixed nemesis draws a fault of kind `K`, and what the fault takes out of service. */
export interface FaultMakerEntry<S extends SpecLike> {
  /** Draws one fault of this kind; undefined when the run offers none (no broker but the group coordinator's). */
  readonly make: (ctx: FaultDrawContext) => S | undefined;
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
  readonly disables?: (spec: S, instanceIds: readonly string[]) => readonly string[];
}

/**
 * Everything about one fault kind, in the module of its family: its label, where it cannot run, what it holds
 * while on (resources.ts says why faults hold things), how the mixed nemesis draws one, and how it starts and
 * gathers its evidence. The catalogue lists one per kind.
 */
export interface FaultDefinition<S extends SpecLike> extends FaultImplementation<S>, FaultMakerEntry<S> {
  readonly kind: S['kind'];
  /** Its family: the module it is defined in (`link-faults.ts` → `link`). */
  readonly family: FaultFamily;
  /** What it does, in one line (`lab list faults`). */
  readonly description: string;
  /** The resources it holds while on, given the run's instance ids: two faults that share one never overlap. */
  readonly holds: (spec: S, instanceIds: readonly string[]) => readonly string[];
}
