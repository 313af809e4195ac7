/**
 * Infrastructure faults: Redis restarted empty (all coordination state
 * gone), PostgreSQL restarted, a Kafka broker down, a partition leader moved.
 * Evidence is read from the infrastructure itself.
 */
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { ActiveFault, FaultImplementation } from './types.js';
import { requireKafkaControl, type ProviderCapabilities } from '../environment/capabilities.js';
import { InvalidArgumentError } from '../errors.js';
import type { KafkaApi, KafkaErrorName } from '../environment/kafka-protocol.js';
import { counterDelta, snapshot } from './metrics.js';
import { GROUP_COORDINATOR_BROKER } from '../scenario/group.js';

function refused(hostPort: string): Promise<boolean> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    const t = setTimeout(() => (s.destroy(), resolve(false)), 1000);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(false)));
    s.once('error', () => (clearTimeout(t), resolve(true)));
  });
}

export const redisRestart: FaultImplementation<'redis-restart'> = {
  kind: 'redis-restart',
  label: () => 'redis restart, data lost',
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
    return { end: async () => ({ tookEffect: !sentinelSurvived, detail: { keysBefore, sentinelSurvived } }) };
  },
};

export const postgresRestart: FaultImplementation<'postgres-restart'> = {
  kind: 'postgres-restart',
  label: () => 'postgres restart',
  async start(_spec, ctx): Promise<ActiveFault> {
    const pid = ctx.env.postgres.pid;
    await ctx.env.postgres.restart();
    const newPid = ctx.env.postgres.pid;
    return { end: async () => ({ tookEffect: pid !== newPid, detail: { pid, newPid } }) };
  },
};

function missingBroker(broker: number, caps: ProviderCapabilities): string | undefined {
  return caps.kafkaBrokerIds.includes(broker)
    ? undefined
    : `the ${caps.provider} provider has no broker ${broker} (brokers: ${caps.kafkaBrokerIds.join(', ')})`;
}

export const brokerDown: FaultImplementation<'broker-down'> = {
  kind: 'broker-down',
  label: (s) => `kafka broker ${s.broker} down`,
  unsupported: (s, caps) => missingBroker(s.broker, caps),
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
          tookEffect: wasRefused,
          detail: { broker: spec.broker, address: k.bootstrapServers[idx], refused: wasRefused },
        };
      },
    };
  },
};

export const leaderMove: FaultImplementation<'leader-move'> = {
  kind: 'leader-move',
  label: (s) => `leader of ${s.topic}[${s.partition}] → broker ${s.broker}`,
  unsupported: (s, caps) => (caps.kafkaLeaderMoves === true ? missingBroker(s.broker, caps) : caps.kafkaLeaderMoves),
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
    return { end: async () => ({ tookEffect: leader === spec.broker, detail: { reportedLeader: leader } }) };
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

export const requestErrors: FaultImplementation<'request-errors'> = {
  kind: 'request-errors',
  label: (s) => `${s.api} answered ${s.errors.join(', ')}`,
  unsupported: (_s, caps) => (caps.kafkaRequestErrors === true ? undefined : caps.kafkaRequestErrors),
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
        let errors = 0;
        let pending = spec.errors.length;
        for (;;) {
          pending = await requireKafkaControl(ctx.env.kafka, 'requestErrors', ctx.env.provider).pendingRequestErrors(
            broker,
            api,
          );
          errors = counterDelta(before, await snapshot(ctx.instances.all), 'coordinator_kafka_client_errors_total');
          if (errors > 0 || performance.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        const met = spec.errors.length - pending;
        return {
          tookEffect: errors > 0,
          detail: {
            api: spec.api,
            errors: spec.errors,
            broker,
            metByRequests: met,
            kafkaClientErrors: errors,
            ...(errors === 0 && met === 0 && { noOpportunity: true }),
          },
        };
      },
    };
  },
};
