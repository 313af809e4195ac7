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
 *
 * Each fault says what it holds in its definition (`holds`, in its family's
 * module); `faultResources` of the catalogue asks it.
 */
/** The instances a fault on `target` is on: every instance for `all`, else that one. */
export function targetsOf(target: string, instanceIds: readonly string[]): readonly string[] {
  return target === 'all' ? instanceIds : [target];
}

/** Every link to a store of these instances. */
export function storeLinks(ids: readonly string[]): string[] {
  return ids.flatMap((id) => [`link:redis:${id}`, `link:postgres:${id}`]);
}

/** What a fault on a store (restarted, read-only, busy) holds: the store and every instance's link to it. */
export function storeHeld(store: 'redis' | 'postgres', ids: readonly string[]): string[] {
  return [`store:${store}`, ...ids.map((id) => `link:${store}:${id}`)];
}

/** Whether two faults hold a resource in common. */
export function shareResource(a: readonly string[], b: readonly string[]): boolean {
  return a.some((r) => b.includes(r));
}
