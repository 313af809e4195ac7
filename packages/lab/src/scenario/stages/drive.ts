/**
 * Stage 2 of a seed, drive: the plan's publishes sent at the scenario's pace while the nemesis runs its faults,
 * then whatever a fault left behind (a toxic, a disabled proxy) reset. The chunking of the publishes is a pure
 * function ({@link paceChunks}).
 */
import { inputTopics } from '@chaos-lab/contracts';
import type { PlannedPublish } from '@chaos-lab/model';
import { runNemesis } from '../../nemesis/index.js';
import type { Publisher } from '../publisher.js';
import { BROKE, type SeedContext, type SeedResources } from './seed-context.js';
import { COUNTDOWN_EVERY_MS, secondsLeft } from '../../progress.js';

/** Paced runs send a chunk every this many ms, so that the faults meet traffic. */
export const PACE_TICK_MS = 100;
/** Unpaced runs send chunks of at most this many publishes. */
const UNPACED_CHUNK = 200;
/** How often the publish loop says how far it is. */
export const PROGRESS_EVERY_MS = 2000;

/**
 * The publishes cut into the chunks sent one per tick: a group (publishes meant to go together) is one chunk;
 * ungrouped publishes are chunked so that a paced run spreads them over `paceMs`.
 */
export function paceChunks(publishes: readonly PlannedPublish[], paceMs: number): PlannedPublish[][] {
  const maxChunk = paceMs > 0 ? Math.max(1, Math.ceil(publishes.length / (paceMs / PACE_TICK_MS))) : UNPACED_CHUNK;
  const chunks: PlannedPublish[][] = [];
  for (const p of publishes) {
    const last = chunks.at(-1);
    const sameGroup = last && p.group !== undefined && last[0]?.group === p.group;
    if (last && (sameGroup || (p.group === undefined && last[0]?.group === undefined && last.length < maxChunk)))
      last.push(p);
    else chunks.push([p]);
  }
  return chunks;
}

/** When chunk `i` of a paced run is due, relative to the start of the work (0 for an unpaced run). */
export function chunkDueMs(i: number, paceMs: number): number {
  return paceMs > 0 ? i * PACE_TICK_MS : 0;
}

export interface DriveOptions {
  readonly publisher: Publisher;
  /** `performance.now()` when the work began: the nemesis' clock and the pace's. */
  readonly tWorkStart: number;
  /** The build a rolling upgrade moves the instances to (a session started on a baseline). */
  readonly upgradeEntry?: string;
}

/** Publishes the plan at pace while the nemesis runs; resolves when both are done (or the test bed broke). */
export async function drive(ctx: SeedContext, res: SeedResources, o: DriveOptions): Promise<void> {
  const { session, planned, recorder, tracker, held, progress } = ctx;
  const { env, instances } = session;
  const { faults, plan } = planned;
  const chunks = paceChunks(plan.publishes, ctx.def.paceMs);
  const nemesisAbort = new AbortController();
  const nemesis = runNemesis(
    faults,
    {
      env,
      instances,
      links: env.links,
      inputTopics: inputTopics(planned.topics),
      ...(o.upgradeEntry !== undefined && { upgradeEntry: o.upgradeEntry }),
    },
    recorder,
    {
      t0: o.tWorkStart,
      signal: nemesisAbort.signal,
      progress,
      onFault: (f, active) => session.labMetrics.fault(f, active),
    },
  );
  res.nemesisDone = nemesis.finally(() => undefined);
  res.abortNemesis = () => nemesisAbort.abort();
  let lastProgress = performance.now();
  for (const [i, c] of chunks.entries()) {
    if (ctx.def.paceMs > 0) {
      const due = o.tWorkStart + chunkDueMs(i, ctx.def.paceMs) - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    }
    if ((await held(o.publisher.send(c))) === BROKE) break;
    tracker.sent += c.length;
    if (performance.now() - lastProgress > PROGRESS_EVERY_MS) {
      progress(tracker.line(ctx.observer.count));
      lastProgress = performance.now();
    }
  }
  // The faults may outlast the publishes: say until when (each fault's window counts itself down).
  const plannedEnd = Math.max(0, ...faults.map((f) => f.at + f.durationMs));
  const nemesisLeft = o.tWorkStart + plannedEnd - performance.now();
  if (nemesisLeft > COUNTDOWN_EVERY_MS && !ctx.watch.broken)
    progress(
      `lab: published ${tracker.sent}/${plan.publishes.length}; the nemesis runs about ${secondsLeft(nemesisLeft)} more (its last fault is planned to end at +${secondsLeft(plannedEnd)})`,
    );
  await held(nemesis);
  if (faults.length > 0 && !ctx.watch.broken) {
    // Whatever a fault left behind (a toxic, a disabled proxy) must not outlive the nemesis.
    await env.links.reset();
    progress(`lab: nemesis done (${faults.length} faults); waiting for the pipeline to finish`);
  }
}
