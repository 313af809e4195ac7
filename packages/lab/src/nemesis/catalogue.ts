/**
 * The fault catalogue: every kind, one implementation, in the module of its
 * family. Adding a fault = adding its spec to `types.ts` and its
 * implementation to a family module and this table.
 */
import type { FaultImplementation, FaultKind, FaultSpec, PlannedFault } from './types.js';
import type { ProviderCapabilities } from '../environment/capabilities.js';
import { linkDown, linkToxic } from './link-faults.js';
import { commitBoundaryCrash, kill, pause, restart, rollingRestart } from './process-faults.js';
import { brokerDown, leaderMove, postgresRestart, redisRestart, requestErrors } from './infra-faults.js';

const catalogue: { [K in FaultKind]?: FaultImplementation<K> } = {
  'link-toxic': linkToxic,
  'link-down': linkDown,
  kill,
  pause,
  restart,
  'rolling-restart': rollingRestart,
  'commit-boundary-crash': commitBoundaryCrash,
  'redis-restart': redisRestart,
  'postgres-restart': postgresRestart,
  'broker-down': brokerDown,
  'leader-move': leaderMove,
  'request-errors': requestErrors,
};

export function implementationOf<K extends FaultKind>(spec: Extract<FaultSpec, { kind: K }>): FaultImplementation<K> {
  const impl = catalogue[spec.kind as K];
  if (!impl) throw new Error(`no implementation for fault kind "${spec.kind}"`);
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
