/**
 * Environments: where the infrastructure of a run comes from. A scenario asks
 * for an environment and receives endpoints; it never knows which provider
 * made them. The provider is chosen in one place, `LAB_PROVIDER`:
 *
 * - `local` (default): real `redis-server`, real PostgreSQL and librdkafka's
 *   mock Kafka cluster, as child processes on free loopback ports, with their
 *   data in one temporary work dir that is removed on every exit path.
 * - `docker`: the same services as containers (`docker-provider.ts`).
 *
 * Each environment also runs a Prometheus (unless `prometheus: false` or
 * `LAB_PROMETHEUS=0`) that scrapes the fault proxy and the Kafka host from
 * the start; whoever starts instances adds them as targets
 * (`prometheus.setTargets`). Reports and the dashboard test query it.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { createWorkDir, reapStaleWorkDirs, type WorkDir } from './work-dir.js';
import { RedisServer, type StartedRedisServer, type RedisPersistence } from './redis-server.js';
import { PostgresServer, type StartedPostgresServer } from './postgres-server.js';
import { KafkaMockCluster, type StartedKafkaMock } from './kafka-mock.js';
import { InvalidArgumentError } from '../../errors.js';
import { startFaultProxyProcess, type StartedFaultProxy } from './fault-proxy-process.js';
import { Links } from '../../links/links.js';
import { PrometheusServer, type StartedPrometheus } from './prometheus-server.js';

export type ProviderName = 'local' | 'docker';

export interface EnvironmentOptions {
  /** Folder for the servers' log files (kept after the run). */
  readonly logDir: string;
  /** Kafka brokers in the cluster. Default 3. */
  readonly kafkaBrokers?: number;
  /** Default `'none'`: a Redis restart loses everything, as the coordinator must survive. */
  readonly redisPersistence?: RedisPersistence;
  /** Default: `LAB_PROVIDER`, else `local`. */
  readonly provider?: ProviderName;
  /** Start a Prometheus scraping the environment. Default: true unless `LAB_PROMETHEUS=0`. */
  readonly prometheus?: boolean;
  /** Prometheus' scrape interval. Default 1000 ms. */
  readonly scrapeIntervalMs?: number;
  /**
   * The local broker answers a Fetch as Kafka does (every stored batch up to the limits) through fronts before
   * librdkafka's mock (`kafka/fetch-front.ts`). Default: `LAB_KAFKA_FETCH_FRONT`, else on.
   */
  readonly kafkaFetchFront?: boolean;
}

export interface Endpoints {
  readonly redisUrl: string;
  readonly postgresUrl: string;
  readonly kafkaBrokers: readonly string[];
}

export interface StartedEnvironment extends AsyncDisposable {
  readonly provider: ProviderName;
  readonly endpoints: Endpoints;
  readonly redis: StartedRedisServer;
  readonly postgres: StartedPostgresServer;
  /** The broker cluster's handle: the local mock's, or the docker provider's real broker behind the same surface. */
  readonly kafka: EnvironmentKafka;
  /** The Toxiproxy-API fault proxy every instance's Redis and Postgres links go through. */
  readonly faultProxy: StartedFaultProxy;
  /** Per-instance proxied links on the fault proxy. */
  readonly links: Links;
  /** The environment's Prometheus (absent when turned off). */
  readonly prometheus: StartedPrometheus | undefined;
  /** The temporary folder holding the servers' data (removed by `stop()`). */
  readonly workDir: string;
  /** Milliseconds from the call to `startEnvironment` to every component ready. */
  readonly startupMs: number;
  /**
   * Coordinator settings this environment requires. The mock broker reports
   * controller id 0, which kafkajs's idempotent producer cannot work with, so
   * idempotence is off here (it is on by default in production); every event
   * carries a derived id, so duplicates stay recognisable anyway.
   */
  coordinatorEnv(): Record<string, string>;
  stop(): Promise<void>;
}

/** What the lab uses of a Kafka cluster: the mock's public surface (a class with private fields cannot be implemented). */
export type EnvironmentKafka = Pick<StartedKafkaMock, keyof StartedKafkaMock>;

/**
 * What every provider hands out from its three servers: their endpoints, and the settings a coordinator needs
 * to reach them directly (instances go through their own proxied links instead).
 */
export function serverEndpoints(
  redis: StartedRedisServer,
  postgres: StartedPostgresServer,
  kafka: EnvironmentKafka,
  opts: {
    readonly idempotentProducer: boolean;
    /** The consumer's fetch wait, for a broker that holds every fetch that long even when data arrives. */
    readonly fetchMaxWaitMs?: number;
  },
): Pick<StartedEnvironment, 'endpoints' | 'coordinatorEnv'> {
  return {
    endpoints: {
      redisUrl: redis.url,
      postgresUrl: postgres.connectionString(),
      kafkaBrokers: kafka.bootstrapServers,
    },
    coordinatorEnv: () => ({
      COORDINATOR_REDIS_URL: redis.url,
      COORDINATOR_POSTGRES_URL: postgres.connectionString(),
      COORDINATOR_KAFKA_BROKERS: kafka.bootstrapServers.join(','),
      COORDINATOR_KAFKA_IDEMPOTENT: String(opts.idempotentProducer),
      ...(opts.fetchMaxWaitMs !== undefined && { COORDINATOR_KAFKA_MAX_WAIT_MS: String(opts.fetchMaxWaitMs) }),
    }),
  };
}

export function providerFromEnv(env: NodeJS.ProcessEnv = process.env): ProviderName {
  const v = env.LAB_PROVIDER ?? 'local';
  if (v !== 'local' && v !== 'docker') throw new InvalidArgumentError('LAB_PROVIDER', v, 'one of "local", "docker"');
  return v;
}

/** `LAB_KAFKA_FETCH_FRONT`: `0`/`false` lets clients talk to librdkafka's mock brokers directly. */
export function fetchFrontFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LAB_KAFKA_FETCH_FRONT ?? '1';
  if (!['0', '1', 'true', 'false'].includes(v))
    throw new InvalidArgumentError('LAB_KAFKA_FETCH_FRONT', v, '1, 0, true or false');
  return v === '1' || v === 'true';
}

/** `LAB_PROMETHEUS`: `0`/`false` turns the environment's Prometheus off. */
export function prometheusFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LAB_PROMETHEUS ?? '1';
  if (!['0', '1', 'true', 'false'].includes(v))
    throw new InvalidArgumentError('LAB_PROMETHEUS', v, '1, 0, true or false');
  return v === '1' || v === 'true';
}

export async function startEnvironment(opts: EnvironmentOptions): Promise<StartedEnvironment> {
  const provider = opts.provider ?? providerFromEnv();
  if (provider === 'docker') return (await import('../docker/docker-provider.js')).startDockerEnvironment(opts);
  const t0 = performance.now();
  // Whatever a SIGKILLed lab process left behind (servers, work dirs) goes first.
  const reaped = await reapStaleWorkDirs().catch(() => []);
  if (reaped.length > 0)
    process.stderr.write(`lab: cleaned up ${reaped.length} work dir(s) left by dead lab processes\n`);
  await mkdir(opts.logDir, { recursive: true });
  const work: WorkDir = await createWorkDir();
  // allSettled, not all: when one component fails, the others must have
  // finished starting before they are stopped, or one would slip through.
  const withPrometheus = opts.prometheus ?? prometheusFromEnv();
  const [r, p, k, f, m] = await Promise.allSettled([
    RedisServer.start({
      workDir: join(work.path, 'redis'),
      logFile: join(opts.logDir, 'redis.log'),
      persistence: opts.redisPersistence ?? 'none',
    }),
    PostgresServer.start({ workDir: join(work.path, 'postgres'), logFile: join(opts.logDir, 'postgres.log') }),
    KafkaMockCluster.start({
      brokers: opts.kafkaBrokers ?? 3,
      logFile: join(opts.logDir, 'kafka.log'),
      fetchFront: opts.kafkaFetchFront ?? fetchFrontFromEnv(),
    }),
    startFaultProxyProcess(join(opts.logDir, 'fault-proxy.log')),
    withPrometheus
      ? PrometheusServer.start({
          workDir: join(work.path, 'prometheus'),
          logFile: join(opts.logDir, 'prometheus.log'),
          ...(opts.scrapeIntervalMs !== undefined && { scrapeIntervalMs: opts.scrapeIntervalMs }),
        })
      : Promise.resolve(undefined),
  ]);
  const all = [r, p, k, f, m] as const;
  if (all.some((x) => x.status === 'rejected')) {
    await Promise.allSettled(all.flatMap((x) => (x.status === 'fulfilled' && x.value ? [x.value.stop()] : [])));
    await work.remove();
    throw all.find((x): x is PromiseRejectedResult => x.status === 'rejected')!.reason;
  }
  const [redis, postgres, kafka, faultProxy, prometheus] = all.map(
    (x) => (x as PromiseFulfilledResult<unknown>).value,
  ) as [StartedRedisServer, StartedPostgresServer, StartedKafkaMock, StartedFaultProxy, StartedPrometheus | undefined];
  if (prometheus) {
    await prometheus.setTargets('fault-proxy', [{ address: new URL(faultProxy.url).host }]);
    await prometheus.setTargets('kafka', [{ address: new URL(kafka.controlUrl).host }]);
  }
  const links = new Links(faultProxy.url, {
    redis: `127.0.0.1:${redis.port}`,
    postgres: `127.0.0.1:${postgres.port}`,
    postgresUser: postgres.user,
  });
  {
    const startupMs = performance.now() - t0;
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await Promise.allSettled([faultProxy.stop(), kafka.stop(), redis.stop(), postgres.stop(), prometheus?.stop()]);
        await work.remove();
      })());
    return {
      provider,
      redis,
      postgres,
      kafka,
      faultProxy,
      links,
      prometheus,
      startupMs,
      workDir: work.path,
      // The mock reports controller id 0, which kafkajs's idempotent producer cannot work with.
      // librdkafka's mock answers a fetch only after its full wait, data or not (FACTS): the coordinator's
      // default (500 ms, free on a real broker, which answers as soon as data arrives) would be its latency.
      ...serverEndpoints(redis, postgres, kafka, { idempotentProducer: false, fetchMaxWaitMs: 100 }),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
}
