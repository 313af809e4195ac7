/**
 * The fault catalogue: every kind, and its one definition — label, where it
 * cannot run, what it holds, how the mixed nemesis draws it, how it starts
 * and judges its evidence — in the module of its family (one folder:
 * `nemesis/`). This file only lists them, in two tables the compiler keeps
 * in step: `FaultSpecs` (kind → spec type, in `specs.ts`) and `catalogue` (kind →
 * definition, typed `{ [K in FaultKind]: FaultDefinition<K> }`, so a kind
 * without a definition, or a definition of the wrong kind, does not build).
 *
 * Adding a fault kind `my-fault`:
 * 1. In its family's module (`link-`, `process-`, `infra-`, `store-` or
 *    `clock-faults.ts`, or a new `*-faults.ts` beside them): its spec type
 *    `interface MyFaultSpec { readonly kind: 'my-fault'; … }` (plain JSON:
 *    it goes into plans), a pure function judging its evidence
 *    (`myFaultTookEffect`), and `export const myFault: FaultDefinition<'my-fault'>`
 *    with `family`, a one-line `description` (`lab list faults`), `label`,
 *    `holds` (resources.ts: what it must not share), `make` (how the mixed
 *    nemesis draws one; `() => undefined` if never),
 *    optionally `durationMs`, `startWithin`, `maxPerPlan`, `disables`,
 *    `unsupported`, and `start` (returning an `ActiveFault` whose `end()`
 *    gives the evidence).
 * 2. `'my-fault': MyFaultSpec` in `FaultSpecs` (specs.ts) and here `'my-fault': myFault`
 *    in `catalogue` — the compiler asks for the second once the first is
 *    there. Append both at the end: `FAULT_KINDS` follows the table's order
 *    and the mixed nemesis draws kinds by their index in it, so an entry
 *    inserted in the middle changes every seed's mixed plan.
 * 3. A unit test of its judgement in the family's `*.test.ts`.
 * That is three files of one folder (four with the test).
 */
import type {
  DefinitionOf,
  FaultImplementation,
  FaultKind,
  FaultMakerEntry,
  FaultSpec,
  FaultSpecs,
  NemesisContext,
  PlannedFault,
  SpecOf,
} from './types.js';
import type { ProviderCapabilities } from '../environment/capabilities.js';
import type { FaultFamily } from './definition.js';
import { InvalidArgumentError } from '../errors.js';

export type { FaultSpecs } from './specs.js';
import { linkDown, linkToxic } from './link-faults.js';
import { commitBoundaryCrash, kill, pause, restart, rollingRestart, rollingUpgrade } from './process-faults.js';
import { brokerDown, leaderMove, postgresRestart, redisRestart, requestErrors } from './infra-faults.js';
import { clockSkew } from './clock-faults.js';
import { postgresReadonly, redisBusy, redisOutOfMemory, redisReadonly } from './store-faults.js';

/** Every kind's definition. Exhaustive over {@link FaultSpecs}: a kind missing here does not compile. */
export type Catalogue = { readonly [K in FaultKind]: DefinitionOf<K> };

const catalogue: Catalogue = {
  'link-toxic': linkToxic,
  'link-down': linkDown,
  kill,
  pause,
  restart,
  'rolling-restart': rollingRestart,
  'rolling-upgrade': rollingUpgrade,
  'commit-boundary-crash': commitBoundaryCrash,
  'redis-restart': redisRestart,
  'postgres-restart': postgresRestart,
  'redis-readonly': redisReadonly,
  'redis-busy': redisBusy,
  'postgres-readonly': postgresReadonly,
  'broker-down': brokerDown,
  'leader-move': leaderMove,
  'request-errors': requestErrors,
  'clock-skew': clockSkew,
  'redis-out-of-memory': redisOutOfMemory,
};

/** Every fault kind of the catalogue, in its order. */
export const FAULT_KINDS = Object.keys(catalogue) as readonly FaultKind[];

/** Every kind with its family and what it does, in the catalogue's order (`lab list faults`). */
export function faultKindDescriptions(): { kind: FaultKind; family: FaultFamily; description: string }[] {
  return FAULT_KINDS.map((kind) => ({
    kind,
    family: catalogue[kind].family,
    description: catalogue[kind].description,
  }));
}

/** The definition of a kind; a kind not in the catalogue (a plan read from JSON may carry any string) is refused. */
export function definitionOf<K extends FaultKind>(kind: K): DefinitionOf<K> {
  if (!Object.hasOwn(catalogue, kind))
    throw new InvalidArgumentError('kind', kind, `a fault kind (${FAULT_KINDS.join(', ')})`);
  return catalogue[kind];
}

// The dispatchers: generic in the kind, so that a spec reaches its own kind's definition with no cast.
const label = <K extends FaultKind>(spec: SpecOf<K>): string => definitionOf<K>(spec.kind).label(spec);
const unsupported = <K extends FaultKind>(spec: SpecOf<K>, caps: ProviderCapabilities): string | undefined =>
  definitionOf<K>(spec.kind).unsupported?.(spec, caps);
const holds = <K extends FaultKind>(spec: SpecOf<K>, ids: readonly string[]): readonly string[] =>
  definitionOf<K>(spec.kind).holds(spec, ids);
const disables = <K extends FaultKind>(spec: SpecOf<K>, ids: readonly string[]): readonly string[] =>
  definitionOf<K>(spec.kind).disables?.(spec, ids) ?? [];

/**
 * The catalogue as the runner sees it: one implementation of every kind, dispatching on the spec's kind (an
 * unknown kind is refused when first used).
 */
export function implementationOf(spec: FaultSpec): FaultImplementation {
  definitionOf(spec.kind);
  return catalogueImplementation;
}

const catalogueImplementation: FaultImplementation = {
  label,
  unsupported,
  start: <K extends FaultKind>(spec: SpecOf<K>, ctx: NemesisContext) => definitionOf<K>(spec.kind).start(spec, ctx),
};

export function faultLabel(spec: FaultSpec): string {
  return label(spec);
}

/** The resources a fault holds while it is on, given the run's instance ids (resources.ts). */
export function faultResources(spec: FaultSpec, instanceIds: readonly string[]): string[] {
  return [...holds(spec, instanceIds)];
}

/** The instances a fault takes out of service while on. */
export function disabledBy(spec: FaultSpec, instanceIds: readonly string[]): readonly string[] {
  return disables(spec, instanceIds);
}

/** Why a provider with these capabilities cannot run this fault; undefined when it can. */
export function unsupportedWhy(spec: FaultSpec, caps: ProviderCapabilities): string | undefined {
  return unsupported(spec, caps);
}

/** How the mixed nemesis draws each kind (the definitions, seen as draw tables). */
export const faultMakers: { readonly [K in FaultKind]: FaultMakerEntry<FaultSpecs[K]> } = catalogue;

/** One planned fault a provider cannot run, and why. */
export interface UnsupportedFault {
  readonly fault: PlannedFault;
  readonly label: string;
  readonly why: string;
}

/** The planned faults a provider with these capabilities cannot run (empty when it can run them all). */
export function unsupportedFaults(faults: readonly PlannedFault[], caps: ProviderCapabilities): UnsupportedFault[] {
  return faults.flatMap((fault) => {
    const why = unsupported(fault.spec, caps);
    return why === undefined ? [] : [{ fault, label: faultLabel(fault.spec), why }];
  });
}
