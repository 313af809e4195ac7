/**
 * The one naming rule of the coordinator instances: `coordinator-<n>`, n from 1. The session, the fault plans,
 * the stack and {@link CoordinatorInstances} (its default id prefix) all name instances this way.
 */
export const INSTANCE_ID_PREFIX = 'coordinator';

/** The id of the n-th instance (1-based): `coordinator-<n>`. */
export function instanceId(n: number): string {
  return `${INSTANCE_ID_PREFIX}-${n}`;
}

/** The ids of `count` instances: `coordinator-1` … `coordinator-<count>`. */
export function instanceIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => instanceId(i + 1));
}
