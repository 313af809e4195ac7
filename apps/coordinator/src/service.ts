/**
 * Wires the coordinator together: adapters, domain, consumer, relay, sweeper
 * and HTTP, with a start-up order (migrate → relay → consumer → HTTP ready)
 * and the reverse on shutdown: stop fetching, finish in-flight work, commit,
 * leave the group, flush the outbox, close the pools.
 */
import { writeSync } from 'node:fs';
import type { Logger } from 'pino';
import { topics as topicNames } from '@chaos-lab/contracts';
import type { CoordinatorConfig } from './config.js';
import { Coordinator } from './domain/coordinator.js';
import { createMetrics } from './metrics.js';
import type { BatchStore, SlotCache } from './domain/ports.js';
import type { Metrics } from './metrics.js';
import { RedisSlotCache, type RedisCacheOptions } from './adapters/redis/redis-cache.js';
import { PgBatchStore, type PgStoreOptions } from './adapters/postgres/pg-store.js';
import { productionSteps, type SettleSteps } from './adapters/postgres/settle-steps.js';
import { InputConsumer, type ConsumerOptions } from './adapters/kafka/consumer.js';
import { OutboxRelay } from './adapters/kafka/outbox-relay.js';
import { startHttp } from './http/server.js';
import { createFailpoints } from './failpoints.js';

export interface RunningCoordinator {
  readonly httpPort: number;
  stop(): Promise<void>;
}

/**
 * Wrappers around the production adapters, used only by the chaos lab's
 * known-bad variants (`src/variants/`, started through `dist/variants/main.js`);
 * the production entry point passes none. Each is given the production piece
 * it wraps and returns one with the same interface.
 */
export interface CoordinatorOverrides {
  /**
   * Wraps the slot cache the domain uses, given production's (which the service still quits on shutdown). A
   * wrapper that holds connections of its own closes them in its `quit`. Default: production's, as is.
   */
  readonly cache?: (
    production: SlotCache,
    opts: RedisCacheOptions,
    metrics: Metrics,
  ) => SlotCache & { quit?(): Promise<void> };
  /**
   * The steps of the store's settling writes, given production's. With steps of its own the store runs every
   * settling write statement by statement through them (see `adapters/postgres/settle-steps.ts`). Default:
   * production's, in one server-side function call per write.
   */
  readonly settleSteps?: (production: SettleSteps) => SettleSteps;
  /** Runs once the database is migrated, before the relay and the consumer start. */
  readonly afterMigrate?: (opts: PgStoreOptions) => Promise<void>;
  /** Wraps the store the domain and the consumer use, given production's. Default: production's, as is. */
  readonly store?: (production: BatchStore) => BatchStore;
  /** Wraps the consumer's handling of each fetched batch (`ConsumerOptions.eachBatch`). */
  readonly eachBatch?: ConsumerOptions['eachBatch'];
  /** Releases what the variant holds itself (a producer): a shutdown step, run before the pools close. */
  readonly stop?: () => Promise<void>;
}

/** How long start-up waits for Postgres to take its migrations (a failover, a restart) before giving up. */
const MIGRATE_TIMEOUT_MS = 60_000;
/**
 * How long the HTTP step of a shutdown waits for the requests in flight before closing their connections: a
 * request that hangs (a readiness check behind a stuck dependency, a client that never finishes its request)
 * must not hold the whole shutdown to its deadline (`COORDINATOR_SHUTDOWN_TIMEOUT_MS`, 10 s in the lab).
 */
const HTTP_CLOSE_GRACE_MS = 2_000;

export async function startCoordinator(
  config: CoordinatorConfig,
  log: Logger,
  overrides: CoordinatorOverrides = {},
): Promise<RunningCoordinator> {
  const metrics = createMetrics(config.instanceId);
  const topics = topicNames(config.kafka.topicPrefix);
  const cache = new RedisSlotCache(config.redis, metrics);
  const storeOpts = { ...config.postgres, topics };
  const store = new PgBatchStore(storeOpts, metrics, overrides.settleSteps?.(productionSteps));
  // What the domain and the consumer use: the production adapters, or a variant's wrappers around them.
  const domainCache = overrides.cache?.(cache, config.redis, metrics) ?? cache;
  const domainStore = overrides.store?.(store) ?? store;
  // Named steps, undone in reverse; each is logged as it begins, so a stop that hangs shows which step it waits on.
  const cleanup: [step: string, run: () => Promise<void>][] = [
    [
      'redis',
      async () => {
        if (domainCache !== cache) await domainCache.quit?.();
        await cache.quit();
      },
    ],
    ['postgres', () => store.close()],
  ];
  const closeAll = async () => {
    for (const [step, run] of cleanup.reverse()) {
      log.info({ step }, 'shutdown step');
      await run().catch((err) => log.warn({ step, err: String(err) }, 'shutdown step failed'));
    }
  };
  try {
    const applied = await store.migrateWhenWritable(MIGRATE_TIMEOUT_MS, (err, attempt) =>
      log.warn(
        { err: err instanceof Error ? err.message : String(err), attempt },
        'database not ready for migrations; retrying',
      ),
    );
    if (applied.length > 0) log.info({ applied }, 'database migrations applied');
    await overrides.afterMigrate?.(storeOpts);
    if (overrides.stop) cleanup.push(['variant', overrides.stop]);

    const relay = new OutboxRelay(
      { ...config.kafka, ...config.outbox },
      store.outbox,
      metrics,
      log.child({ component: 'outbox' }),
    );
    // Every committed step may have enqueued rows: relay them now rather than at the next poll.
    store.afterCommit = () => relay.wake();
    const failpoints = createFailpoints(config.failpoints, (name) =>
      // Written straight to fd 1: the process is about to be SIGKILLed.
      writeSync(
        1,
        JSON.stringify({
          level: 40,
          time: new Date().toISOString(),
          instanceId: config.instanceId,
          failpoint: name,
          msg: 'fail-point reached: crashing on purpose',
        }) + '\n',
      ),
    );
    const domain = new Coordinator(
      domainCache,
      domainStore,
      log.child({ component: 'domain' }),
      {
        onBatchClosed: (_batchId, status) => metrics.batchesClosed.inc({ status }),
        onParkedExpired: (_batchId, n) => metrics.deadLetters.inc({ reason: 'batch_never_registered' }, n),
        beforeStore: () => failpoints('after-cache-before-store'),
      },
      { parkedTtlMs: config.parkedTtlMs, parkedRetentionMs: config.parkedRetentionMs },
    );
    await relay.start();
    cleanup.push(['outbox relay', () => relay.stop()]);

    const consumer = new InputConsumer(
      { ...config.kafka, topics, failpoints, eachBatch: overrides.eachBatch },
      domain,
      domainStore,
      metrics,
      log.child({ component: 'consumer' }),
    );
    await consumer.start();
    cleanup.push(['consumer', () => consumer.stop()]);

    let sweeping: Promise<void> | undefined;
    const sweeper = setInterval(() => {
      if (sweeping) return;
      sweeping = domain
        .sweep()
        .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'sweep failed'))
        .finally(() => (sweeping = undefined));
    }, config.sweepIntervalMs);
    cleanup.push([
      'sweeper',
      async () => {
        clearInterval(sweeper);
        await sweeping;
      },
    ]);

    const http = await startHttp(config.http.host, config.http.port, {
      registry: metrics.registry,
      batch: (id) => store.view(id),
      readiness: async () => {
        const problems: Record<string, string> = {};
        await Promise.all([
          cache.ping().catch((e: Error) => (problems.redis = e.message)),
          store.ping().catch((e: Error) => (problems.postgres = e.message)),
        ]);
        if (!consumer.isConnected) problems.kafka_consumer = 'not a member of the consumer group';
        if (!relay.isConnected) problems.kafka_producer = 'producer not connected';
        return problems;
      },
    });
    cleanup.push([
      'http',
      async () => {
        const pending = http.pending();
        if (pending.length > 0) log.info({ pending }, 'http requests in flight at shutdown');
        const { forced } = await http.close(HTTP_CLOSE_GRACE_MS);
        if (forced.length > 0)
          log.warn(
            { pending: forced, graceMs: HTTP_CLOSE_GRACE_MS },
            'http requests unanswered after the grace; closed',
          );
      },
    ]);
    log.info({ httpPort: http.port, topics, groupId: config.kafka.groupId }, 'coordinator started');

    let stopping: Promise<void> | undefined;
    return {
      httpPort: http.port,
      stop: () => (stopping ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
