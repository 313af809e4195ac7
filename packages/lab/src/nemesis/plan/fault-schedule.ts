/**
 * The fault half of a plan: from a seed and a menu of fault makers, a list
 * of faults with start times and durations over the workload's horizon.
 * Faults never overlap (one nemesis, like Jepsen's default), and each starts
 * after the previous one ended plus a recovery gap, so that a failure can be
 * pinned on one fault. The mixed nemesis (mixed-faults.ts) overlaps them.
 */
import type { FaultSpec, PlannedFault } from '../types.js';
import type { FaultDrawContext } from '../definition.js';
import { InvalidArgumentError } from '../../errors.js';

export type { FaultDrawContext };

/** Draws one fault; the menu of a scenario is a list of these. */
export type FaultMaker = (ctx: FaultDrawContext) => FaultSpec;

export interface FaultScheduleOptions {
  readonly menu: readonly FaultMaker[];
  /** How many faults. */
  readonly count: number;
  /** First fault not before this (ms after the workload starts). Default 500. */
  readonly startMs?: number;
  /** Duration range of each fault. Default 1500–3000 ms. */
  readonly durationMs?: readonly [number, number];
  /** Quiet time after each fault. Default 1000–2000 ms. */
  readonly gapMs?: readonly [number, number];
}

export function planFaults(ctx: FaultDrawContext, o: FaultScheduleOptions): PlannedFault[] {
  if (o.menu.length === 0 && o.count > 0) throw new InvalidArgumentError('menu', [], 'at least one fault maker');
  if (!Number.isInteger(o.count) || o.count < 0 || o.count > 1000)
    throw new InvalidArgumentError('count', o.count, 'an integer from 0 to 1000');
  const [dMin, dMax] = o.durationMs ?? [1500, 3000];
  const [gMin, gMax] = o.gapMs ?? [1000, 2000];
  const out: PlannedFault[] = [];
  let t = o.startMs ?? 500;
  for (let i = 0; i < o.count; i++) {
    const spec = ctx.rng.pick(o.menu)(ctx);
    const durationMs = ctx.rng.int(dMin, dMax);
    out.push({ at: t, durationMs, spec });
    t += durationMs + ctx.rng.int(gMin, gMax);
  }
  return out;
}

export interface EachKindOnceOptions {
  /** Start of the first slot, in ms after the workload starts. */
  readonly startMs: number;
  /** Each slot starts this long after the previous one's: a fault's window and a recovery gap. */
  readonly slotMs: number;
  /** Duration range of each fault; keep its top below `slotMs` so one fault has ended before the next starts. */
  readonly durationMs: readonly [number, number];
}

/**
 * Every fault maker of the menu once, in a seeded order, one slot each: slot `i` starts at
 * `startMs + i * slotMs`. So every seed sees every fault of the menu, alone. The seed decides the order (a
 * shuffle of the menu), then for each slot in turn what the maker draws and how long the fault lasts — the
 * draws `planFaults` makes for one fault.
 */
export function eachKindOnce(
  ctx: FaultDrawContext,
  menu: readonly FaultMaker[],
  o: EachKindOnceOptions,
): PlannedFault[] {
  if (!Number.isInteger(o.slotMs) || o.slotMs < 1) throw new InvalidArgumentError('slotMs', o.slotMs, 'an integer ≥ 1');
  return ctx.rng
    .shuffle(menu)
    .flatMap((make, i) =>
      planFaults(ctx, { menu: [make], count: 1, startMs: o.startMs + i * o.slotMs, durationMs: o.durationMs }),
    );
}
