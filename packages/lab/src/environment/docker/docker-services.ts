/** The plan's containers started on a fresh network, as the scenarios know them. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Network } from 'testcontainers';
import { InvalidArgumentError, ProviderStartError } from '../../errors.js';
import { registerCleanup } from '../../process/cleanup.js';
import { freePort } from '../../process/ports.js';
import type {
  EnvironmentKafka,
  RedisPersistence,
  StartedFaultProxy,
  StartedPostgresServer,
  StartedRedisServer,
} from '../contract.js';
import { type Links } from '../../links/links.js';
import { type PinnedImages } from './images.js';
import {
  TOXIPROXY_CONTROL_PORT,
  dockerEnvironmentPlan,
  type DockerEnvironmentPlan,
  type ServiceName,
} from './docker-plan.js';
import { firstLine } from './docker-errors.js';
import { requireContainerRuntime } from './container-runtime.js';
import { PlannedContainer } from './planned-container.js';
import { DockerRedis } from './docker-redis.js';
import { DockerPostgres } from './docker-postgres.js';
import { DockerKafka } from './docker-kafka.js';
import { DockerLinks } from './docker-links.js';
import { checkAliasesResolve } from './alias-check.js';

/** Which of the plan's containers to start, and how. */
export interface DockerServicesOptions {
  /** The plan's services to start. Default: all of them. */
  readonly services?: readonly ServiceName[];
  /** Folder for the containers' log files. */
  readonly logDir: string;
  readonly images: PinnedImages;
  /** Default `'none'`. */
  readonly redisPersistence?: RedisPersistence;
  /** How long the container runtime may take to answer. Default 5000 ms. */
  readonly runtimeTimeoutMs?: number;
  /** How long each container may take to become ready. Default 180 000 ms (image pulls included). */
  readonly startupTimeoutMs?: number;
}

/** The started containers, as the scenarios know them; a service not asked for is undefined. */
export interface StartedDockerServices extends AsyncDisposable {
  readonly redis: StartedRedisServer | undefined;
  readonly postgres: StartedPostgresServer | undefined;
  readonly kafka: EnvironmentKafka | undefined;
  /** Toxiproxy: its API (the environment's fault proxy) and the instances' links on it. */
  readonly toxiproxy: { readonly faultProxy: StartedFaultProxy; readonly links: Links } | undefined;
  /** Removes every container and the network. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the plan's containers (all, or `services`) on a fresh network.
 * Rejects at once with a one-line {@link NoContainerRuntimeError} when no
 * container runtime answers, before anything is created; when one container
 * fails to start, the others are removed once they have finished starting.
 */
export async function startDockerServices(opts: DockerServicesOptions): Promise<StartedDockerServices> {
  const known: readonly ServiceName[] = ['kafka', 'redis', 'postgres', 'toxiproxy'];
  const services = opts.services ?? known;
  for (const name of services)
    if (!known.includes(name)) throw new InvalidArgumentError('services', name, `each one of ${known.join(', ')}`);
  if (services.length === 0) throw new InvalidArgumentError('services', [], 'at least one service');
  const client = await requireContainerRuntime(opts.runtimeTimeoutMs);
  const persistence = opts.redisPersistence ?? 'none';
  const [kafkaHostPort, redisHostPort, postgresHostPort] = [await freePort(), await freePort(), await freePort()];
  const plan: DockerEnvironmentPlan = dockerEnvironmentPlan({
    images: opts.images,
    instances: [],
    kafkaHostPort,
    redisHostPort,
    postgresHostPort,
    redisPersistence: persistence,
  });
  await mkdir(opts.logDir, { recursive: true });

  const network = await new Network().start();
  const unregisterNetwork = registerCleanup({
    name: `network ${network.getName()}`,
    run: async () => void (await network.stop()),
  });
  const timeout = opts.startupTimeoutMs ?? 180_000;
  const byName = new Map(
    plan.containers
      .filter((d) => services.includes(d.name))
      .map((d) => [d.name, new PlannedContainer(d, client, network, join(opts.logDir, `${d.name}.log`), timeout)]),
  );
  const all = [...byName.values()];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.allSettled(all.map((c) => c.remove()));
      await network.stop().catch(() => {});
      unregisterNetwork();
    })());
  // allSettled: every start has finished (either way) before anything is removed.
  const results = await Promise.allSettled(all.map((c) => c.start()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    const i = results.indexOf(failed);
    throw new ProviderStartError(all[i]!.def.name, firstLine(failed.reason), {
      cause: failed.reason,
      logFile: all[i]!.logFile,
    });
  }
  const get = (n: ServiceName) => byName.get(n);
  const [r, p, k, t] = [get('redis'), get('postgres'), get('kafka'), get('toxiproxy')];
  const asker = r ?? p;
  if (t && asker) {
    const upstreams = [r, p].filter((c) => c !== undefined).flatMap((c) => c.def.aliases);
    try {
      await checkAliasesResolve(asker.container, upstreams, { network: network.getName(), askedFrom: asker.def.name });
    } catch (err) {
      await stop();
      throw err;
    }
  }
  let toxiproxy: StartedDockerServices['toxiproxy'];
  if (t) {
    const url = `http://${t.host}:${t.mappedPort(TOXIPROXY_CONTROL_PORT)}`;
    toxiproxy = {
      faultProxy: {
        url,
        get pid() {
          return t.pid > 0 ? t.pid : undefined;
        },
        get running() {
          return t.running;
        },
        stop: () => t.ops.run(() => t.remove()),
      },
      links: new DockerLinks(url, t),
    };
  }
  return {
    redis: r && new DockerRedis(r, persistence),
    postgres: p && new DockerPostgres(p),
    kafka: k && new DockerKafka(k),
    toxiproxy,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
