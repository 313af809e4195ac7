/**
 * Before the stages of a seed run: the instances' lives recorded into the history, the session's group ready,
 * the seed's share of the shared topics fixed (the offsets they had before it), the observer attached with the
 * completion tracker, the publisher connected, the watch on the test bed and the online monitor started.
 * Returns the {@link SeedContext}.
 */
import { EventType, inputTopics, outputTopics } from '@chaos-lab/contracts';
import type { HistoryRecorder } from '@chaos-lab/model';
import type { CompiledScenario } from '../definition.js';
import type { SuiteSession } from '../session.js';
import type { OffsetSnapshot } from '../offsets.js';
import type { ObservedMessage } from '../observer.js';
import { Publisher } from '../publisher.js';
import { readPostgresState } from '../final-state.js';
import { OnlineMonitor } from '../online-monitor.js';
import { recordInstanceHistory } from '../instance-history.js';
import { CompletionTracker } from './completion.js';
import { BROKE, type SeedContext, type SeedResources } from './seed-context.js';
import type { SeedPlan } from './plan.js';

/**
 * Whether an output read from the shared topics belongs to the seed: it came
 * after the offsets the topic had when the seed began, and it is about one of
 * the seed's batches — or, for a dead letter, about an input published during
 * the seed. An unparseable output cannot be attributed and is kept (the
 * checkers report it).
 */
export function belongsToSeed(
  m: ObservedMessage,
  idPrefix: string,
  outputStart: OffsetSnapshot,
  inputStart: OffsetSnapshot,
): boolean {
  if (BigInt(m.offset) < (outputStart.get(`${m.topic}/${m.partition}`) ?? 0n)) return false;
  const e = m.event;
  if (!e) return true;
  if (e.event_type === EventType.DeadLetter) {
    const from = inputStart.get(`${e.data.source_topic}/${e.data.source_partition}`) ?? 0n;
    return /^\d+$/.test(e.data.source_offset) ? BigInt(e.data.source_offset) >= from : true;
  }
  return e.data.batch_id.startsWith(idPrefix);
}

export interface Begun {
  readonly ctx: SeedContext;
  readonly publisher: Publisher;
  /** How long the instances took to be ready (their start-up included when this seed opened the session). */
  readonly readyMs: number;
}

export async function beginSeed(
  def: CompiledScenario,
  session: SuiteSession,
  planned: SeedPlan,
  recorder: HistoryRecorder,
  res: SeedResources,
  o: { readonly seed: number; readonly opened: boolean; readonly progress: (line: string) => void },
): Promise<Begun> {
  const { progress } = o;
  const { env, instances } = session;
  const t = planned.topics;
  const idPrefix = `s${o.seed}-`;
  // From the start: what getting the session ready does to the instances (a restart) is this seed's history too.
  res.instanceHistory = recordInstanceHistory(instances.all, recorder);
  const waitMs = await session.ready(progress);
  const readyMs = (o.opened ? session.instancesStartMs : 0) + waitMs;
  progress(
    `lab: ${instances.all.length} instances ready, consumer group settled, in ${readyMs.toFixed(0)} ms${o.opened ? '' : ' (session reused)'}`,
  );
  // What belongs to this seed on the shared topics: outputs after the offsets the topics had before it, about
  // its own batches; a dead letter is about the input it quarantines, so about an input offset of this seed.
  const outputStart = await session.endOffsets(outputTopics(t));
  const inputStart = await session.endOffsets(inputTopics(t));
  const accept = (m: ObservedMessage) => belongsToSeed(m, idPrefix, outputStart, inputStart);
  const tracker = new CompletionTracker(planned.plan);
  const observer = (res.observer = session.observer);
  observer.attach({ recorder, onEvent: tracker.onEvent, accept });
  const publisher = (res.publisher = new Publisher(env.kafka.bootstrapServers, recorder));
  await publisher.start();
  // A server of the test bed that dies (the mock broker aborts on an assertion now and then) must end the seed
  // at once with the environment blamed: every wait talks to it and would otherwise wait out kafkajs'
  // retries, again and again. `held` races any such wait against the death.
  const watch = session.watchEnvironment();
  res.stopWatch = watch.stop;
  const held = <T>(p: Promise<T>): Promise<T | typeof BROKE> =>
    Promise.race([p, watch.broke.then((): typeof BROKE => BROKE)]);
  const ctx: SeedContext = {
    def,
    session,
    seed: o.seed,
    planned,
    recorder,
    tracker,
    observer,
    watch,
    held,
    inputStart,
    progress,
  };
  return { ctx, publisher, readyMs };
}

/** The checkers' online parts, every second from the first publish to the final read. */
export function startMonitor(ctx: SeedContext, res: SeedResources): OnlineMonitor {
  const { recorder, session, progress } = ctx;
  const idPrefix = `s${ctx.seed}-`;
  const monitor = (res.monitor = new OnlineMonitor({
    entries: () => recorder.entries,
    nowMs: () => recorder.elapsedMs(),
    readSnapshot: () => readPostgresState(session.env.endpoints.postgresUrl, idPrefix, 2000),
    progress,
  }));
  monitor.start();
  return monitor;
}
