/**
 * The docker provider (`LAB_PROVIDER=docker`): the plan of `docker-plan.ts`
 * started with testcontainers, behind the same `StartedEnvironment` as the
 * local provider, so a scenario does not know which one it got.
 *
 * The coordinators still run on the host as the lab's child processes; they
 * reach Redis and PostgreSQL through their own proxies on a real Toxiproxy
 * container (host-mapped ports), and Kafka through the broker's host
 * listener. What maps and what does not (see also the README):
 *
 * - Real: endpoints, `links` (toxics, link down/up, reset on a real
 *   Toxiproxy), Redis/PostgreSQL `restart` and `kill` (the container's whole
 *   process tree, as a crash), `stop`, `createDatabase`, `kafka.createTopic`
 *   (a real CreateTopics), broker 1 down/up (the container stopped and
 *   started: connections closed and refused, as the mock's).
 * - Approximated: `pause()`/`resume()` (docker pause/unpause is asynchronous,
 *   the interface is not: the freeze lands a few milliseconds after the call
 *   returns, and the next operation on the same server waits for it); `pid`
 *   (the host pid of the container's main process, which changes on every
 *   restart as the local pid does); `postgres.processes()` (that pid only, not
 *   every backend); `dataDir`/`socketDir` (paths inside the container);
 *   `kafka.setCoordinator`/`setPartitionLeader` to broker 1 (the only broker
 *   already is): accepted as no-ops; a broker down is a broker shutdown, not
 *   the mock's "connections refused while it keeps its leadership".
 * - Unsupported (UnsupportedOnDockerError): broker RTT, leader moves to
 *   another broker, injected request errors, topic errors, coordinator pins
 *   to another broker, brokers other than 1 — one real broker has no control
 *   API for them. A suite that plans such faults is refused before it starts
 *   (`capabilities.ts`). `prometheus` is a host process, as in the local
 *   environment (undefined, with a warning, when the binary is missing);
 *   `workDir` holds only its data: the servers' data lives in the containers.
 *
 * Every container and the network are registered with the cleanup registry
 * as soon as they exist; testcontainers' reaper (Ryuk) removes them too if
 * this process dies without running its cleanups.
 */
import { join } from 'node:path';
import { InvalidArgumentError, LabError, MissingDependencyError } from '../../errors.js';
import { PrometheusServer, type StartedPrometheus } from '../local/prometheus-server.js';
import { createWorkDir, type WorkDir } from '../local/work-dir.js';
import type { EnvironmentOptions, StartedEnvironment } from '../contract.js';
import { prometheusFromEnv } from '../from-env.js';
import { serverEndpoints } from '../server-endpoints.js';
import { readPinnedImages, type PinnedImages } from './images.js';
import { startDockerServices } from './docker-services.js';

export interface DockerEnvironmentOptions extends EnvironmentOptions {
  /** How long the container runtime may take to answer. Default 5000 ms. */
  readonly runtimeTimeoutMs?: number;
  /** Default: {@link readPinnedImages} (the repository's `.env`). */
  readonly images?: PinnedImages;
  /** How long each container may take to become ready. Default 180 000 ms (image pulls included). */
  readonly startupTimeoutMs?: number;
}

/**
 * Starts the docker environment: every container of the plan, and
 * Prometheus on the host. Bad input is reported first; then, with no
 * container runtime, a one-line {@link NoContainerRuntimeError} before
 * anything is created.
 */
export async function startDockerEnvironment(opts: DockerEnvironmentOptions): Promise<StartedEnvironment> {
  const t0 = performance.now();
  if (opts.kafkaBrokers !== undefined && opts.kafkaBrokers !== 1)
    throw new InvalidArgumentError('kafkaBrokers', opts.kafkaBrokers, '1 on the docker provider (one KRaft broker)');
  const images = opts.images ?? readPinnedImages();
  const withPrometheus = opts.prometheus ?? prometheusFromEnv();
  const started = await startDockerServices({
    logDir: opts.logDir,
    images,
    ...(opts.redisPersistence !== undefined && { redisPersistence: opts.redisPersistence }),
    ...(opts.runtimeTimeoutMs !== undefined && { runtimeTimeoutMs: opts.runtimeTimeoutMs }),
    ...(opts.startupTimeoutMs !== undefined && { startupTimeoutMs: opts.startupTimeoutMs }),
  });
  const { redis, postgres, kafka, toxiproxy } = started;
  if (!redis || !postgres || !kafka || !toxiproxy) {
    await started.stop();
    throw new LabError('the docker provider started without one of its four services');
  }
  const { faultProxy, links } = toxiproxy;
  // Prometheus runs on the host, as in the local environment: the coordinators are host processes, and the
  // containers' metrics are reachable on their mapped ports. Without the binary the run still works; its
  // report has no charts, and says so.
  let prometheus: StartedPrometheus | undefined;
  let work: WorkDir | undefined;
  if (withPrometheus) {
    try {
      work = await createWorkDir();
      prometheus = await PrometheusServer.start({
        workDir: join(work.path, 'prometheus'),
        logFile: join(opts.logDir, 'prometheus.log'),
        ...(opts.scrapeIntervalMs !== undefined && { scrapeIntervalMs: opts.scrapeIntervalMs }),
      });
      await prometheus.setTargets('fault-proxy', [{ address: new URL(faultProxy.url).host }]);
    } catch (err) {
      await prometheus?.stop().catch(() => {});
      await work?.remove().catch(() => {});
      [prometheus, work] = [undefined, undefined];
      if (!(err instanceof MissingDependencyError)) {
        await started.stop();
        throw err;
      }
      process.stderr.write(
        `lab: docker provider: ${err.message}; until then reports have no charts (LAB_PROMETHEUS=0 silences this)\n`,
      );
    }
  }
  const startupMs = performance.now() - t0;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.allSettled([started.stop(), prometheus?.stop()]);
      await work?.remove();
    })());
  return {
    provider: 'docker',
    redis,
    postgres,
    kafka,
    faultProxy,
    links,
    prometheus,
    startupMs,
    // Prometheus' data, when it runs; the servers' data lives in their containers.
    workDir: work?.path ?? '',
    // A real broker supports the idempotent producer, the production default.
    ...serverEndpoints(redis, postgres, kafka, { idempotentProducer: true }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
