/**
 * How to draw one fault of each kind of the catalogue, in one table that
 * the mixed nemesis draws from (and any scenario may pick from). The table
 * is exhaustive over the fault kinds, so a new kind does not compile until
 * it says here how it is drawn, how long it lasts, and which instances it
 * takes out of service.
 *
 * The draws stay inside what tests the system rather than the test bed: a
 * broker down is never the group coordinator's (librdkafka's mock aborts the
 * whole cluster when a member rejoins its coordinator after it came back,
 * see kafka-faults); injected errors only answer OffsetCommit, which the
 * lab's own clients never send; toxics that cut a link hit one instance,
 * never every instance at once.
 */
import { COMMIT_CRASH_POINTS, type FaultKind, type FaultSpec } from '../nemesis/types.js';
import type { ToxicSpec } from '../links/links.js';
import { GROUP_COORDINATOR_BROKER } from '../scenario/group.js';
import type { FaultDrawContext } from './fault-schedule.js';

type SpecOf<K extends FaultKind> = Extract<FaultSpec, { kind: K }>;

export interface FaultMakerEntry<K extends FaultKind = FaultKind> {
  /** Draws one fault of this kind; undefined when the run offers none (no broker but the group coordinator's). */
  readonly make: (ctx: FaultDrawContext) => SpecOf<K> | undefined;
  /** Its own duration range, when the planner's default does not suit it. */
  readonly durationMs?: readonly [number, number];
  /**
   * Its evidence needs traffic (a crash after the nth commit, errors on offset commits): it starts within this
   * fraction of the time the workload sends. Default: anywhere.
   */
  readonly startWithin?: number;
  /** At most this many in one plan. Default: no limit. */
  readonly maxPerPlan?: number;
  /** The instances it takes out of service while on: killed, paused, restarting, cut off from a store. */
  readonly disables?: (spec: SpecOf<K>, instanceIds: readonly string[]) => readonly string[];
}

/** Toxics that cut a link (no answer, a reset, a closed connection), as opposed to slowing it. */
const CUTTING: ReadonlySet<ToxicSpec['type']> = new Set(['timeout', 'reset_peer', 'limit_data']);

function drawToxic({ rng }: FaultDrawContext, link: 'redis' | 'postgres'): ToxicSpec {
  switch (rng.pick(['latency', 'bandwidth', 'slicer', 'timeout', 'reset_peer', 'limit_data'] as const)) {
    case 'latency': {
      const latency = rng.int(50, 300);
      // Jitter within a tenth: the probe's evidence wants at least 0.8 of the latency.
      return { type: 'latency', attributes: { latency, jitter: rng.int(0, Math.floor(latency / 10)) } };
    }
    case 'bandwidth': {
      const rate = rng.int(2, 16);
      // PostgreSQL's answers are a few hundred bytes: at 2–16 KB/s they are late by less than a loaded machine's
      // own noise (fuzz seed 47: 46 ms per call during the fault, 43 ms before it), so the fault took no visible
      // effect. At 1 KB/s each answer is late by a tenth of a second or more.
      return { type: 'bandwidth', attributes: { rate: link === 'postgres' ? 1 : rate } };
    }
    case 'slicer':
      return {
        type: 'slicer',
        attributes: { average_size: rng.int(1, 3), size_variation: 0, delay: rng.int(500, 5000) },
      };
    case 'timeout':
      // 0: the data is held for as long as the toxic is on; otherwise the connection closes after that long.
      return { type: 'timeout', attributes: { timeout: rng.chance(0.5) ? 0 : rng.int(500, 3000) } };
    case 'reset_peer':
      return { type: 'reset_peer', attributes: { timeout: rng.chance(0.5) ? 0 : rng.int(100, 1000) } };
    case 'limit_data':
      // Fewer bytes than the probe's answer (PING's 7, PostgreSQL's 1), so the probe sees the cut too.
      return { type: 'limit_data', attributes: { bytes: link === 'redis' ? rng.int(0, 6) : 0 } };
  }
}

const one = (spec: { target: string }, ids: readonly string[]) => (spec.target === 'all' ? ids : [spec.target]);

/** Clock offsets from seconds to an hour, either way, each order of magnitude as likely. */
function drawOffsetMs({ rng }: FaultDrawContext): number {
  const [from, to] = rng.pick([
    [5, 30],
    [30, 300],
    [300, 3600],
  ] as const);
  return (rng.chance(0.5) ? -1 : 1) * rng.int(from, to) * 1000;
}

export const faultMakers: { readonly [K in FaultKind]: FaultMakerEntry<K> } = {
  'link-toxic': {
    make: (ctx) => {
      const link = ctx.rng.pick(['redis', 'postgres'] as const);
      const toxic = drawToxic(ctx, link);
      const target = !CUTTING.has(toxic.type) && ctx.rng.chance(0.5) ? 'all' : ctx.rng.pick(ctx.instanceIds);
      return { kind: 'link-toxic', link, target, toxic };
    },
    disables: (s, ids) => (CUTTING.has(s.toxic.type) ? one(s, ids) : []),
  },
  'link-down': {
    make: ({ rng, instanceIds }) => ({
      kind: 'link-down',
      link: rng.pick(['redis', 'postgres'] as const),
      target: rng.pick(instanceIds),
    }),
    disables: one,
  },
  kill: {
    make: ({ rng, instanceIds }) => ({ kind: 'kill', target: rng.pick(instanceIds) }),
    disables: one,
  },
  pause: {
    make: ({ rng, instanceIds }) => ({ kind: 'pause', target: rng.pick(instanceIds) }),
    // Sometimes past the session timeout the lab gives the coordinators (4 s): a zombie.
    durationMs: [2000, 5500],
    disables: one,
  },
  restart: {
    make: ({ rng, instanceIds }) => ({ kind: 'restart', target: rng.pick(instanceIds) }),
    disables: one,
  },
  'rolling-restart': {
    make: () => ({ kind: 'rolling-restart' }),
    // Its start does the work (every instance in turn, each ready before the next: seconds each, and every fault
    // planned after it waits for it); the window is what follows. A second one would add time, not news.
    durationMs: [500, 1000],
    maxPerPlan: 1,
    // One instance down at a time, whichever.
    disables: () => ['rolling-restart'],
  },
  'rolling-upgrade': {
    // Never drawn: it needs instances on a baseline build, which only a suite with a baseline starts; such a
    // suite plans it itself.
    make: () => undefined,
    maxPerPlan: 1,
    disables: () => ['rolling-upgrade'],
  },
  'commit-boundary-crash': {
    make: ({ rng, instanceIds }) => ({
      kind: 'commit-boundary-crash',
      target: rng.pick(instanceIds),
      nth: rng.int(1, 2),
      at: rng.pick(COMMIT_CRASH_POINTS),
    }),
    durationMs: [1500, 2500],
    // The restarted member needs seconds to rejoin before it gets messages to commit; a second crash might find
    // too few messages left to reach its count.
    startWithin: 0.15,
    maxPerPlan: 1,
    disables: one,
  },
  'redis-restart': {
    make: () => ({ kind: 'redis-restart' }),
    durationMs: [500, 1500],
  },
  'postgres-restart': {
    make: () => ({ kind: 'postgres-restart' }),
    durationMs: [500, 1500],
  },
  'redis-readonly': {
    make: () => ({ kind: 'redis-readonly' }),
  },
  'redis-busy': {
    make: () => ({ kind: 'redis-busy' }),
  },
  'postgres-readonly': {
    make: () => ({ kind: 'postgres-readonly' }),
  },
  'broker-down': {
    make: ({ rng, brokerIds }) => {
      const candidates = brokerIds.filter((b) => b !== GROUP_COORDINATOR_BROKER);
      return candidates.length === 0 ? undefined : { kind: 'broker-down', broker: rng.pick(candidates) };
    },
  },
  'leader-move': {
    make: ({ rng, brokerIds, inputTopics, partitions }) => ({
      kind: 'leader-move',
      topic: rng.pick(inputTopics),
      partition: rng.int(0, partitions - 1),
      broker: rng.pick(brokerIds),
    }),
  },
  'request-errors': {
    make: ({ rng }) => ({
      kind: 'request-errors',
      api: 'OffsetCommit',
      errors: Array.from({ length: rng.int(1, 3) }, () =>
        rng.pick(['REQUEST_TIMED_OUT', 'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE']),
      ),
    }),
    // Its evidence is the errors the instances' own commits meet.
    startWithin: 0.5,
  },
  'clock-skew': {
    make: (ctx) => ({ kind: 'clock-skew', target: ctx.rng.pick(ctx.instanceIds), offsetMs: drawOffsetMs(ctx) }),
    durationMs: [1500, 4000],
  },
};
