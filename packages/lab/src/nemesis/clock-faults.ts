/**
 * Clock faults: one instance's wall clock moved by an offset — forward or
 * back, seconds to an hour — and set true again at the end, through
 * libfaketime's per-instance timestamp file (see instances.ts). Only the
 * wall clock moves: the instance's timers run on the monotonic clock, as on
 * a machine whose NTP stepped the time. What it shows is any decision an
 * instance takes by comparing its own `Date.now()` with a time another
 * instance, or a store, wrote (deadlines, leases, timestamps).
 *
 * Evidence: the instance's own idea of the time as seen from outside — the
 * `Date` header its HTTP server puts on every response, written by Node from
 * `Date.now()` — compared with the lab's clock: it must have moved by the
 * offset (within the header's one-second resolution).
 */
import type { ActiveFault, FaultDefinition, NemesisContext } from './definition.js';
import type { CoordinatorInstance } from '../instances/instances.js';
import type { FaultDrawContext } from './definition.js';
import { InvalidArgumentError } from '../errors.js';

/** The instance's wall clock (`Date.now()`) moved by `offsetMs` (libfaketime), back to true at the end; its monotonic clock is untouched. */
export interface ClockSkewSpec {
  readonly kind: 'clock-skew';
  readonly target: string;
  readonly offsetMs: number;
}

/** How far the observed skew may be from the offset: the header counts whole seconds, plus the round trip. */
export const SKEW_TOLERANCE_MS = 1000;
/** How long to look for the new time: Node caches the header's text for up to a second. */
const OBSERVE_MS = 3000;

/**
 * The instance's clock minus the lab's, in ms, from the `Date` header of one `/healthz` answer; undefined when
 * the instance does not answer. The header is the instance's time cut to the second, so half a second is added
 * back: the estimate is within ±500 ms plus half the round trip.
 */
export async function observedClockSkew(x: CoordinatorInstance): Promise<number | undefined> {
  const t0 = Date.now();
  try {
    const r = await fetch(`${x.url}/healthz`, { signal: AbortSignal.timeout(1000) });
    const t1 = Date.now();
    await r.arrayBuffer();
    const date = Date.parse(r.headers.get('date') ?? '');
    return Number.isNaN(date) ? undefined : Math.round(date + 500 - (t0 + t1) / 2);
  } catch {
    return undefined;
  }
}

/** Whether an observed skew is the offset, within {@link SKEW_TOLERANCE_MS}: a skew fault took effect when so. */
export function skewMatches(skewMs: number | undefined, offsetMs: number): boolean {
  return skewMs !== undefined && Math.abs(skewMs - offsetMs) <= SKEW_TOLERANCE_MS;
}

/** Polls the instance's clock until it is `offsetMs` off (within the tolerance) or the time is up; the last reading. */
async function awaitSkew(x: CoordinatorInstance, offsetMs: number): Promise<{ skewMs?: number; matched: boolean }> {
  const deadline = performance.now() + OBSERVE_MS;
  let skewMs: number | undefined;
  for (;;) {
    skewMs = (await observedClockSkew(x)) ?? skewMs;
    const matched = skewMatches(skewMs, offsetMs);
    if (matched || performance.now() > deadline) return { ...(skewMs !== undefined && { skewMs }), matched };
    await new Promise((r) => setTimeout(r, 200));
  }
}

function instance(ctx: NemesisContext, id: string): CoordinatorInstance {
  const x = ctx.instances.all.find((i) => i.id === id);
  if (!x) throw new InvalidArgumentError('target', id, `one of ${ctx.instances.all.map((i) => i.id).join(', ')}`);
  return x;
}

/** Clock offsets from seconds to an hour, either way, each order of magnitude as likely. */
function drawOffsetMs({ rng }: FaultDrawContext): number {
  const [from, to] = rng.pick([
    [5, 30],
    [30, 300],
    [300, 3600],
  ] as const);
  return (rng.chance(0.5) ? -1 : 1) * rng.int(from, to) * 1000;
}

function formatOffset(ms: number): string {
  return `${ms < 0 ? '-' : '+'}${Math.abs(ms) / 1000} s`;
}

export const clockSkew: FaultDefinition<ClockSkewSpec> = {
  kind: 'clock-skew',
  family: 'clock',
  description: "an instance's wall clock moved by an offset (libfaketime), its monotonic clock untouched",
  label: (s) => `clock ${formatOffset(s.offsetMs)} ${s.target}`,
  // Its process too: a paused or restarting instance cannot show its clock.
  holds: (s) => [`clock:${s.target}`, `process:${s.target}`],
  make: (ctx) => ({ kind: 'clock-skew', target: ctx.rng.pick(ctx.instanceIds), offsetMs: drawOffsetMs(ctx) }),
  durationMs: [1500, 4000],
  // Every provider runs the instances as local processes, so every provider can; a machine without
  // libfaketime is told so when the suite starts its instances (MissingDependencyError, naming the apt
  // package), rather than given another plan: a plan is a function of the seed and the provider only.
  async start(spec, ctx): Promise<ActiveFault> {
    const x = instance(ctx, spec.target);
    if (!Number.isInteger(spec.offsetMs) || spec.offsetMs === 0)
      throw new InvalidArgumentError('offsetMs', spec.offsetMs, 'a non-zero integer number of ms');
    const before = await observedClockSkew(x);
    await x.setClockOffset(spec.offsetMs);
    const during = await awaitSkew(x, spec.offsetMs);
    return {
      async end() {
        // Not seen at the start (the instance was busy or restarting): one more look before the clock goes back.
        const seen = during.matched ? during : await awaitSkew(x, spec.offsetMs);
        await x.setClockOffset(0);
        const after = await awaitSkew(x, 0);
        return {
          tookEffect: seen.matched,
          detail: {
            offsetMs: spec.offsetMs,
            skewBeforeMs: before ?? null,
            skewDuringMs: seen.skewMs ?? null,
            skewAfterMs: after.skewMs ?? null,
            restored: after.matched,
          },
        };
      },
    };
  },
};
