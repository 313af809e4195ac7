/**
 * What each fault holds while it is on, so that two faults that would fight
 * over one thing never overlap: an instance's process (kill and pause of the
 * same instance at once would leave it paused in a life that no longer
 * exists), its clock, one of its links (two toxics of the same name on one
 * proxy are refused; a link brought back up by one fault while another still
 * wants it down), a store, a broker. The mixed planner never overlaps two
 * faults that share a resource; the runner, for plans written by hand, starts
 * the later of two such faults only once the earlier has ended.
 *
 * Some claims are about evidence rather than mechanics: a graceful restart
 * holds its instance's links, since a stop that hangs on a cut link ends in
 * SIGKILL and the restart would then count as not taking effect; a clock
 * skew holds its instance's process, since a paused or restarting instance
 * cannot show its clock. A store fault (restarted, read-only, busy) holds
 * the store and every instance's link to it: a link fault on at the same
 * time would count the store's refusals in the instances' metrics as its
 * own effect.
 */
import type { FaultSpec } from './types.js';

/** The resources a fault holds while it is on, given the run's instance ids. */
export function faultResources(spec: FaultSpec, instanceIds: readonly string[]): string[] {
  const each = (target: string) => (target === 'all' ? instanceIds : [target]);
  const links = (ids: readonly string[]) => ids.flatMap((id) => [`link:redis:${id}`, `link:postgres:${id}`]);
  switch (spec.kind) {
    case 'link-toxic':
    case 'link-down':
      return each(spec.target).map((id) => `link:${spec.link}:${id}`);
    case 'kill':
    case 'pause':
      return [`process:${spec.target}`];
    case 'restart':
    case 'commit-boundary-crash':
      return [`process:${spec.target}`, ...links([spec.target])];
    case 'rolling-restart':
    case 'rolling-upgrade':
      return [...instanceIds.map((id) => `process:${id}`), ...links(instanceIds)];
    case 'clock-skew':
      return [`clock:${spec.target}`, `process:${spec.target}`];
    case 'redis-restart':
    case 'redis-readonly':
    case 'redis-busy':
      return ['store:redis', ...instanceIds.map((id) => `link:redis:${id}`)];
    case 'postgres-restart':
    case 'postgres-readonly':
      return ['store:postgres', ...instanceIds.map((id) => `link:postgres:${id}`)];
    case 'broker-down':
      // One broker down at a time: two would leave many partitions without a reachable leader for the window.
      return [`broker:${spec.broker}`, 'brokers-down'];
    case 'leader-move':
      return [`broker:${spec.broker}`, `leader:${spec.topic}[${spec.partition}]`];
    case 'request-errors':
      return [`request-errors:${spec.api}`];
  }
}

/** Whether two faults hold a resource in common. */
export function shareResource(a: readonly string[], b: readonly string[]): boolean {
  return a.some((r) => b.includes(r));
}
