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
import type {
  FaultDefinition,
  FaultImplementation as ImplementationOf,
  FaultMakerEntry as MakerOf,
  SpecLike,
} from './definition.js';
import type { FaultSpecs } from './specs.js';

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

export type {
  ActiveFault,
  FaultDrawContext,
  FaultEvidence,
  NemesisContext,
  SpecLike,
  FaultDefinition,
} from './definition.js';

/** How a fault starts and ends (any kind by default). */
export type FaultImplementation<S extends SpecLike = FaultSpec> = ImplementationOf<S>;

/** How the mixed nemesis draws a fault (any kind by default). */
export type FaultMakerEntry<S extends SpecLike = FaultSpec> = MakerOf<S>;

/** The definition of kind `K`. */
export type DefinitionOf<K extends FaultKind> = FaultDefinition<FaultSpecs[K]>;
