/**
 * The local provider: real `redis-server`, real PostgreSQL and librdkafka's
 * mock Kafka cluster, the fault proxy and Prometheus, as child processes on
 * free loopback ports, with their data in one temporary work dir that is
 * removed on every exit path.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { createWorkDir, formatBytes, reapStaleWorkDirs, type WorkDir } from './work-dir.js';
import { registerCleanup } from '../../process/cleanup.js';
import { sleep } from './proc.js';
import { RedisServer } from './redis-server.js';
import { PostgresServer } from './postgres-server.js';
import { KafkaMockCluster, type StartedKafkaMock } from './kafka-mock.js';
import { startFaultProxyProcess } from './fault-proxy-process.js';
import type {
  EnvironmentOptions,
  StartedEnvironment,
  StartedFaultProxy,
  StartedPostgresServer,
  StartedRedisServer,
} from '../contract.js';
import type { KafkaOf } from '../capabilities.js';
import { fetchFrontFromEnv, prometheusFromEnv } from '../from-env.js';
import { serverEndpoints } from '../server-endpoints.js';
import { Links } from '../../links/links.js';
import { PrometheusServer, type StartedPrometheus } from './prometheus-server.js';

/** The local environment: its Kafka is the mock, which has every control. */
export interface LocalEnvironment extends StartedEnvironment {
  readonly kafka: KafkaOf<'local'>;
}

export async function startLocalEnvironment(opts: EnvironmentOptions): Promise<LocalEnvironment> {
  const t0 = performance.now();
  // Whatever a SIGKILLed lab process left behind (servers, work dirs) goes first.
  const reaped = await reapStaleWorkDirs().catch(() => []);
  for (const x of reaped) process.stderr.write(`lab: cleaned up ${x.path} (${formatBytes(x.bytes)}): ${x.reason}\n`);
  await mkdir(opts.logDir, { recursive: true });
  const work: WorkDir = await createWorkDir();
  // allSettled, not all: when one component fails, the others must have
  // finished starting before they are stopped, or one would slip through.
  const withPrometheus = opts.prometheus ?? prometheusFromEnv();
  const starting = Promise.allSettled([
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
  // A signal in the middle of the start: the servers already spawned are stopped by their own cleanups, nothing
  // new is spawned (isExiting), and the starts still under way fail — but until they have, one may still write
  // into the work dir (a folder made with mkdir -p would come back after its removal, without an owner).
  // Registered after the work dir, this cleanup runs before its removal and waits for the starts to settle.
  const unregisterStart = registerCleanup({
    name: 'the environment start under way',
    run: async () => {
      await Promise.race([starting, sleep(30_000)]);
    },
  });
  const [r, p, k, f, m] = await starting.finally(unregisterStart);
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
      provider: 'local',
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
