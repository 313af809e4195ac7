/**
 * The mixed nemesis: any fault of the catalogue at any time, overlapping,
 * then a heal — Jepsen's composed nemesis, where the one-fault-at-a-time
 * schedule (fault-schedule.ts) pins a failure on one fault but never meets
 * what only two faults together do.
 *
 * What it may produce, drawn from the seed: `count` faults of any kind of
 * the catalogue, each drawn as its definition says (`make`) (toxics and cuts on one instance's or every instance's
 * Redis or PostgreSQL link, kill -9, pause, graceful and rolling restarts,
 * a crash between a commit and its offset, Redis or PostgreSQL restarted,
 * Redis read-only (a replica) or busy (a long script), PostgreSQL read-only
 * (a standby's refusal), a broker down, a leader moved, offset commits
 * refused, an instance's clock skewed by seconds to an hour either way),
 * each starting anywhere from `startMs` and lasting its kind's range, so
 * that several are on at once.
 * What it never produces:
 * - two faults on at once that hold a resource in common (the same
 *   instance's process or clock, the same link, a store being restarted or
 *   refusing writes, a broker; see ../resources.ts) — so conflicts are
 *   avoided here, and the runner only has to keep them apart in plans
 *   written by hand;
 * - a moment when every instance is out of service (killed, paused,
 *   restarting, cut off from a store): at least one can always work;
 * - a fault still on at `horizonMs`: by then every fault has ended (killed
 *   and paused instances are back, clocks true again), and the scenario
 *   runner also resets every link once the nemesis is done — the heal;
 * - a fault the provider cannot run: its capabilities (`unsupported` of the
 *   catalogue) filter every draw. The plan is thus a function of the seed
 *   and the provider; a machine without libfaketime is refused when the
 *   suite starts its instances, naming the apt package.
 * It may produce fewer than `count` faults when the horizon has no room for
 * another without breaking those rules.
 */
import type { FaultKind, PlannedFault } from '../types.js';
import { FAULT_KINDS, definitionOf, disabledBy, faultResources, unsupportedWhy } from '../catalogue.js';
import { shareResource } from '../resources.js';
import { capabilitiesOf, type ProviderCapabilities } from '../../environment/capabilities.js';
import { providerFromEnv } from '../../environment/index.js';
import { InvalidArgumentError } from '../../errors.js';
import type { FaultDrawContext } from './fault-schedule.js';

export interface MixedFaultOptions {
  /** How many faults (at most 100). */
  readonly count: number;
  /** Every fault has ended by then, in ms after the workload starts. */
  readonly horizonMs: number;
  /** No fault starts before this. Default 300. */
  readonly startMs?: number;
  /** Duration range of a fault whose kind has none of its own. Default 1000–3000 ms (cut to fit the horizon). */
  readonly durationMs?: readonly [number, number];
  /** How long the workload sends; faults whose evidence needs traffic start early in it. Default `horizonMs`. */
  readonly trafficMs?: number;
  /** The kinds to draw from. Default: every kind of the catalogue. */
  readonly kinds?: readonly FaultKind[];
  /** What the provider can run. Default: the draw context's, else that of `LAB_PROVIDER` (else local). */
  readonly capabilities?: ProviderCapabilities;
}

/** Draws per fault before the planner gives up on placing it. */
const ATTEMPTS = 200;

const overlap = (a: PlannedFault, b: PlannedFault) => a.at < b.at + b.durationMs && b.at < a.at + a.durationMs;

export { disabledBy };

export function planMixedFaults(ctx: FaultDrawContext, o: MixedFaultOptions): PlannedFault[] {
  if (!Number.isInteger(o.count) || o.count < 0 || o.count > 100)
    throw new InvalidArgumentError('count', o.count, 'an integer from 0 to 100');
  const startMs = o.startMs ?? 300;
  if (!Number.isInteger(startMs) || startMs < 0) throw new InvalidArgumentError('startMs', startMs, 'an integer ≥ 0');
  if (!Number.isInteger(o.horizonMs) || o.horizonMs <= startMs)
    throw new InvalidArgumentError('horizonMs', o.horizonMs, `an integer above startMs (${startMs})`);
  const [dMin, dMax] = o.durationMs ?? [1000, 3000];
  if (!Number.isInteger(dMin) || !Number.isInteger(dMax) || dMin < 1 || dMax < dMin)
    throw new InvalidArgumentError('durationMs', o.durationMs, 'a range [min, max] of integers, 1 ≤ min ≤ max');
  const trafficMs = o.trafficMs ?? o.horizonMs;
  if (!Number.isInteger(trafficMs) || trafficMs < 0)
    throw new InvalidArgumentError('trafficMs', trafficMs, 'an integer ≥ 0');
  const kinds = o.kinds ?? FAULT_KINDS;
  for (const k of kinds)
    if (!FAULT_KINDS.includes(k)) throw new InvalidArgumentError('kinds', k, `one of ${FAULT_KINDS.join(', ')}`);
  if (kinds.length === 0 && o.count > 0) throw new InvalidArgumentError('kinds', [], 'at least one fault kind');
  const caps = o.capabilities ?? ctx.capabilities ?? capabilitiesOf(providerFromEnv());
  const ids = ctx.instanceIds;
  const { rng } = ctx;

  const placed: { fault: PlannedFault; holds: string[]; disables: readonly string[] }[] = [];
  const fits = (fault: PlannedFault, holds: string[], disables: readonly string[]) => {
    const during = placed.filter((p) => overlap(p.fault, fault));
    if (during.some((p) => shareResource(p.holds, holds))) return false;
    // Out-of-service instances change only when a fault starts: look at this one's start and at every start within.
    const moments = [fault.at, ...during.map((p) => p.fault.at).filter((t) => t > fault.at)];
    return moments.every((t) => {
      const out = new Set(disables);
      for (const p of during)
        if (p.fault.at <= t && t < p.fault.at + p.fault.durationMs) for (const id of p.disables) out.add(id);
      return out.size < ids.length;
    });
  };

  for (let n = 0; n < o.count; n++) {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const kind = rng.pick(kinds);
      const maker = definitionOf(kind);
      const spec = maker.make(ctx);
      if (!spec) continue;
      if (maker.maxPerPlan !== undefined && placed.filter((p) => p.fault.spec.kind === kind).length >= maker.maxPerPlan)
        continue;
      if (unsupportedWhy(spec, caps) !== undefined) continue;
      const [kMin, kMax] = maker.durationMs ?? [dMin, dMax];
      const room = o.horizonMs - startMs;
      const durationMs = rng.int(Math.min(kMin, room), Math.min(kMax, room));
      const latest = Math.min(
        o.horizonMs - durationMs,
        maker.startWithin === undefined ? Infinity : Math.floor(maker.startWithin * trafficMs),
      );
      if (latest < startMs) continue;
      const fault: PlannedFault = { at: rng.int(startMs, latest), durationMs, spec };
      const holds = faultResources(spec, ids);
      const disables = disabledBy(spec, ids);
      if (!fits(fault, holds, disables)) continue;
      placed.push({ fault, holds, disables });
      break;
    }
  }
  // Stable: equal start times keep the order they were drawn in.
  return placed.map((p) => p.fault).sort((a, b) => a.at - b.at);
}
