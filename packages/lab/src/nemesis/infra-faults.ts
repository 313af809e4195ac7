/**
 * Infrastructure faults: Redis restarted empty (all coordination state
 * gone), PostgreSQL restarted, a Kafka broker down, a partition leader moved.
 * Evidence is read from the infrastructure itself.
 */
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { ActiveFault, FaultDefinition } from './definition.js';
import { requireKafkaControl, type ProviderCapabilities } from '../environment/capabilities.js';
import { InvalidArgumentError } from '../errors.js';
import type { KafkaApi, KafkaErrorName } from '../environment/kafka-protocol.js';
import { counterDelta, snapshot } from './metrics.js';
import { storeHeld } from './resources.js';
import { GROUP_COORDINATOR_BROKER } from '../scenario/group.js';
import { secondsLeft, withCountdown } from '../progress.js';

/** Redis restarted without persistence: all coordination state gone. */
export interface RedisRestartSpec {
  readonly kind: 'redis-restart';
}
/** PostgreSQL restarted (fast shutdown, same data). */
export interface PostgresRestartSpec {
  readonly kind: 'postgres-restart';
}
/** A Kafka broker refuses connections for the window. */
export interface BrokerDownSpec {
  readonly kind: 'broker-down';
  readonly broker: number;
}
/** Partition leadership moves to another broker. */
export interface LeaderMoveSpec {
  readonly kind: 'leader-move';
  readonly topic: string;
  readonly partition: number;
  readonly broker: number;
}
/** The broker answers the next requests of an API with these errors. */
export interface RequestErrorsSpec {
  readonly kind: 'request-errors';
  readonly api: string;
  readonly errors: readonly string[];
}

/** Redis restarted empty took effect when a key written before it is gone after it. */
export function redisRestartTookEffect(sentinelSurvived: boolean): boolean {
  return !sentinelSurvived;
}

/** A PostgreSQL restart took effect when another process serves after it. */
export function postgresRestartTookEffect(pid: number | undefined, newPid: number | undefined): boolean {
  return pid !== newPid;
}

/** A broker down took effect when a connection to its address was refused while it was down. */
export function brokerDownTookEffect(refusedWhileDown: boolean): boolean {
  return refusedWhileDown;
}

/** A leader move took effect when the cluster's metadata names the new leader. */
export function leaderMoveTookEffect(reportedLeader: number | undefined, broker: number): boolean {
  return reportedLeader === broker;
}

/**
 * Injected request errors took effect when an instance's Kafka client counted an error; none counted and none
 * met by a request (`metByRequests`: how many of them the broker answered) is no opportunity, not no effect.
 */
export function requestErrorsJudgement(
  kafkaClientErrors: number,
  metByRequests: number,
): { tookEffect: boolean; noOpportunity: boolean } {
  return { tookEffect: kafkaClientErrors > 0, noOpportunity: kafkaClientErrors === 0 && metByRequests === 0 };
}

function refused(hostPort: string): Promise<boolean> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    const t = setTimeout(() => (s.destroy(), resolve(false)), 1000);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(false)));
    s.once('error', () => (clearTimeout(t), resolve(true)));
  });
}

export const redisRestart: FaultDefinition<RedisRestartSpec> = {
  kind: 'redis-restart',
  family: 'infra',
  description: 'Redis restarted without persistence: every bit of coordination state gone',
  label: () => 'redis restart, data lost',
  holds: (_s, ids) => storeHeld('redis', ids),
  make: () => ({ kind: 'redis-restart' }),
  durationMs: [500, 1500],
  async start(_spec, ctx): Promise<ActiveFault> {
    // A sentinel key shows the data really went: the coordinators start rebuilding their own keys within
    // milliseconds of the restart, so counting keys afterwards would race them.
    const sentinel = `lab:sentinel:${Date.now()}`;
    const r = new Redis(ctx.env.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await r.connect();
    const keysBefore = await r.dbsize();
    await r.set(sentinel, '1');
    r.disconnect();
    await ctx.env.redis.restart({ keepData: false });
    const r2 = new Redis(ctx.env.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await r2.connect();
    const sentinelSurvived = (await r2.exists(sentinel)) === 1;
    r2.disconnect();
    return {
      end: async () => ({
        tookEffect: redisRestartTookEffect(sentinelSurvived),
        detail: { keysBefore, sentinelSurvived },
      }),
    };
  },
};

export const postgresRestart: FaultDefinition<PostgresRestartSpec> = {
  kind: 'postgres-restart',
  family: 'infra',
  description: 'PostgreSQL restarted (fast shutdown, same data)',
  label: () => 'postgres restart',
  holds: (_s, ids) => storeHeld('postgres', ids),
  make: () => ({ kind: 'postgres-restart' }),
  durationMs: [500, 1500],
  async start(_spec, ctx): Promise<ActiveFault> {
    const pid = ctx.env.postgres.pid;
    await ctx.env.postgres.restart();
    const newPid = ctx.env.postgres.pid;
    return { end: async () => ({ tookEffect: postgresRestartTookEffect(pid, newPid), detail: { pid, newPid } }) };
  },
};

function missingBroker(broker: number, caps: ProviderCapabilities): string | undefined {
  return caps.kafkaBrokerIds.includes(broker)
    ? undefined
    : `the ${caps.provider} provider has no broker ${broker} (brokers: ${caps.kafkaBrokerIds.join(', ')})`;
}

export const brokerDown: FaultDefinition<BrokerDownSpec> = {
  kind: 'broker-down',
  family: 'infra',
  description: 'a Kafka broker refuses connections for the window',
  label: (s) => `kafka broker ${s.broker} down`,
  unsupported: (s, caps) => missingBroker(s.broker, caps),
  // One broker down at a time: two would leave many partitions without a reachable leader for the window.
  holds: (s) => [`broker:${s.broker}`, 'brokers-down'],
  // Never the group coordinator's: librdkafka's mock aborts the whole cluster when a member rejoins its
  // coordinator after it came back (see kafka-faults).
  make: ({ rng, brokerIds }) => {
    const candidates = brokerIds.filter((b) => b !== GROUP_COORDINATOR_BROKER);
    return candidates.length === 0 ? undefined : { kind: 'broker-down', broker: rng.pick(candidates) };
  },
  async start(spec, ctx): Promise<ActiveFault> {
    const k = ctx.env.kafka;
    const idx = k.brokerIds.indexOf(spec.broker);
    if (idx < 0) throw new InvalidArgumentError('broker', spec.broker, `one of ${k.brokerIds.join(', ')}`);
    await k.setBrokerDown(spec.broker);
    const wasRefused = await refused(k.bootstrapServers[idx]!);
    return {
      async end() {
        await k.setBrokerUp(spec.broker);
        return {
          tookEffect: brokerDownTookEffect(wasRefused),
          detail: { broker: spec.broker, address: k.bootstrapServers[idx], refused: wasRefused },
        };
      },
    };
  },
};

export const leaderMove: FaultDefinition<LeaderMoveSpec> = {
  kind: 'leader-move',
  family: 'infra',
  description: "partitions' leadership moved to another broker",
  label: (s) => `leader of ${s.topic}[${s.partition}] → broker ${s.broker}`,
  unsupported: (s, caps) => (caps.kafkaLeaderMoves === true ? missingBroker(s.broker, caps) : caps.kafkaLeaderMoves),
  holds: (s) => [`broker:${s.broker}`, `leader:${s.topic}[${s.partition}]`],
  make: ({ rng, brokerIds, inputTopics, partitions }) => ({
    kind: 'leader-move',
    topic: rng.pick(inputTopics),
    partition: rng.int(0, partitions - 1),
    broker: rng.pick(brokerIds),
  }),
  async start(spec, ctx): Promise<ActiveFault> {
    await requireKafkaControl(ctx.env.kafka, 'leaderMoves', ctx.env.provider).setPartitionLeader(
      spec.topic,
      spec.partition,
      spec.broker,
    );
    const admin = new Kafka({ brokers: [...ctx.env.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    let leader: number | undefined;
    try {
      const md = await admin.fetchTopicMetadata({ topics: [spec.topic] });
      leader = md.topics[0]?.partitions.find((p) => p.partitionId === spec.partition)?.leader;
    } finally {
      await admin.disconnect();
    }
    return {
      end: async () => ({ tookEffect: leaderMoveTookEffect(leader, spec.broker), detail: { reportedLeader: leader } }),
    };
  },
};

/**
 * The group coordinator broker answers the next requests of one API with the
 * given errors. Only APIs the lab's own clients never send there hit the
 * system under test alone: the observer never commits offsets, so
 * OffsetCommit is such an API; Heartbeat and Fetch are not.
 *
 * Evidence, two-sided: the broker's own error stack says how many of the
 * errors a request met; the instances' Kafka client errors
 * (`coordinator_kafka_client_errors_total`) say a member saw them — kafkajs
 * logs every error response it receives, retried or not. Errors no request
 * met (no member committed in the window and the grace after it: a rolling
 * upgrade's rebalances can cover both) are "no opportunity", not "no effect".
 */
/** How long after its window a request-errors fault waits for an instance to meet the errors. */
const REQUEST_ERRORS_GRACE_MS = 10_000;

export const requestErrors: FaultDefinition<RequestErrorsSpec> = {
  kind: 'request-errors',
  family: 'infra',
  description: "the broker answers an API's next requests with the given errors",
  label: (s) => `${s.api} answered ${s.errors.join(', ')}`,
  unsupported: (_s, caps) => (caps.kafkaRequestErrors === true ? undefined : caps.kafkaRequestErrors),
  holds: (s) => [`request-errors:${s.api}`],
  // Only OffsetCommit, which the lab's own clients never send.
  make: ({ rng }) => ({
    kind: 'request-errors',
    api: 'OffsetCommit',
    errors: Array.from({ length: rng.int(1, 3) }, () =>
      rng.pick(['REQUEST_TIMED_OUT', 'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE']),
    ),
  }),
  // Its evidence is the errors the instances' own commits meet.
  startWithin: 0.5,
  async start(spec, ctx): Promise<ActiveFault> {
    const api = spec.api as KafkaApi;
    const broker = GROUP_COORDINATOR_BROKER;
    const before = await snapshot(ctx.instances.all);
    await requireKafkaControl(ctx.env.kafka, 'requestErrors', ctx.env.provider).pushBrokerRequestErrors(
      broker,
      api,
      spec.errors as KafkaErrorName[],
    );
    return {
      async end() {
        // The broker answers the *next* requests of the API: when no instance sent one in the window (a rebalance
        // in progress, say: members commit nothing meanwhile) the errors wait for the next, so the evidence may
        // come a little after the window (fuzz seed 7: a restart's rebalance covered the whole window).
        const deadline = performance.now() + REQUEST_ERRORS_GRACE_MS;
        const control = requireKafkaControl(ctx.env.kafka, 'requestErrors', ctx.env.provider);
        const poll = async () => {
          for (;;) {
            const pending = await control.pendingRequestErrors(broker, api);
            const errors = counterDelta(
              before,
              await snapshot(ctx.instances.all),
              'coordinator_kafka_client_errors_total',
            );
            if (errors > 0 || performance.now() > deadline) return { pending, errors };
            await new Promise((r) => setTimeout(r, 200));
          }
        };
        const { pending, errors } = await withCountdown(poll(), {
          progress: ctx.progress,
          boundMs: REQUEST_ERRORS_GRACE_MS,
          line: (left) =>
            `lab: nemesis: request-errors ${spec.api}: waiting for an instance to meet the errors, ${secondsLeft(left)} left of the ${secondsLeft(REQUEST_ERRORS_GRACE_MS)} grace`,
        });
        const met = spec.errors.length - pending;
        const { tookEffect, noOpportunity } = requestErrorsJudgement(errors, met);
        return {
          tookEffect,
          detail: {
            api: spec.api,
            errors: spec.errors,
            broker,
            metByRequests: met,
            kafkaClientErrors: errors,
            ...(noOpportunity && { noOpportunity: true }),
          },
        };
      },
    };
  },
};
