/**
 * The fault catalogue: every kind, one implementation, in the module of its
 * family. Adding a fault = adding its spec to `types.ts`, its implementation
 * to a family module and this table, what it holds to `resources.ts`, and
 * how to draw one to the mixed nemesis's `faultMakers` (schedule/) — the
 * compiler asks for each, since all three tables are exhaustive.
 */
import type { FaultImplementation, FaultKind, FaultSpec, PlannedFault } from './types.js';
import type { ProviderCapabilities } from '../environment/capabilities.js';
import { InvalidArgumentError } from '../errors.js';
import { linkDown, linkToxic } from './link-faults.js';
import { commitBoundaryCrash, kill, pause, restart, rollingRestart, rollingUpgrade } from './process-faults.js';
import { brokerDown, leaderMove, postgresRestart, redisRestart, requestErrors } from './infra-faults.js';
import { clockSkew } from './clock-faults.js';
import { postgresReadonly, redisBusy, redisReadonly } from './store-faults.js';

const catalogue: { readonly [K in FaultKind]: FaultImplementation<K> } = {
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
};

/** Every fault kind of the catalogue, in its order. */
export const FAULT_KINDS = Object.keys(catalogue) as readonly FaultKind[];

export function implementationOf<K extends FaultKind>(spec: Extract<FaultSpec, { kind: K }>): FaultImplementation<K> {
  // A plan read from JSON may carry any string.
  const impl = Object.hasOwn(catalogue, spec.kind) ? catalogue[spec.kind as K] : undefined;
  if (!impl) throw new InvalidArgumentError('kind', spec.kind, `a fault kind (${FAULT_KINDS.join(', ')})`);
  return impl as FaultImplementation<K>;
}

export function faultLabel(spec: FaultSpec): string {
  return (implementationOf(spec) as FaultImplementation).label(spec as never);
}

/** One planned fault a provider cannot run, and why. */
export interface UnsupportedFault {
  readonly fault: PlannedFault;
  readonly label: string;
  readonly why: string;
}

/** The planned faults a provider with these capabilities cannot run (empty when it can run them all). */
export function unsupportedFaults(faults: readonly PlannedFault[], caps: ProviderCapabilities): UnsupportedFault[] {
  return faults.flatMap((fault) => {
    const why = (implementationOf(fault.spec) as FaultImplementation).unsupported?.(fault.spec as never, caps);
    return why === undefined ? [] : [{ fault, label: faultLabel(fault.spec), why }];
  });
}
