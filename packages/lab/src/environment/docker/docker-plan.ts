/**
 * The docker provider's containers as data: what runs, from which pinned
 * image, under which network alias, with which ports and environment. A pure
 * function, so the definitions can be tested on a machine without a
 * container runtime; `docker-services.ts` only turns this plan into
 * testcontainers calls.
 *
 * The topology mirrors the local environment: every coordinator instance
 * reaches Redis and PostgreSQL through its own pair of Toxiproxy proxies,
 * named as {@link Links.proxyName} names them (`<instance>-redis`,
 * `<instance>-postgres`), so a link fault can cut off one instance alone.
 * Nothing but Toxiproxy is meant to dial `redis:6379` or `postgres:5432`.
 * Kafka is not proxied, for the reason given in `links.ts`.
 */
import { InvalidArgumentError } from '../../errors.js';
import { LINKS, Links, type LinkName } from '../../links/links.js';
import type { PinnedImages } from './images.js';

export const DOCKER_NETWORK = 'chaos-lab';
export const REDIS_PORT = 6379;
export const POSTGRES_PORT = 5432;
export const POSTGRES_USER = 'postgres';
/** Kafka's listener for containers on the network (advertised as `kafka:9092`). */
export const KAFKA_INTERNAL_PORT = 9092;
export const KAFKA_CONTROLLER_PORT = 9093;
/** Kafka's listener for clients on the host, advertised as `127.0.0.1:<kafkaHostPort>`. */
export const KAFKA_HOST_LISTENER_PORT = 29092;
export const TOXIPROXY_CONTROL_PORT = 8474;
/** The proxy ports the Toxiproxy container exposes (the same range @testcontainers/toxiproxy exposes). */
export const PROXY_PORT_FIRST = 8666;
export const PROXY_PORT_COUNT = 32;
/** Instances whose two links fit in the exposed proxy port range. */
export const MAX_INSTANCES = PROXY_PORT_COUNT / LINKS.length;
/** Fixed so that a broker's data stays valid across container restarts. */
export const KAFKA_CLUSTER_ID = 'Y2hhb3MtbGFiLWthZmthMQ';

export type ServiceName = 'kafka' | 'redis' | 'postgres' | 'toxiproxy';

export interface ContainerDefinition {
  /** The service, also its network alias. */
  readonly name: ServiceName;
  readonly image: string;
  readonly aliases: readonly string[];
  /** Container ports published to the host. */
  readonly exposedPorts: readonly number[];
  /** Container port → host port, for ports that must keep their host address across restarts. */
  readonly hostBindings: Readonly<Record<number, number>>;
  readonly env: Readonly<Record<string, string>>;
  readonly command?: readonly string[];
}

export interface ProxyDefinition {
  /** `<instance>-<link>`, as {@link Links.proxyName}. */
  readonly name: string;
  readonly instanceId: string;
  readonly link: LinkName;
  /** `0.0.0.0:<port>` inside the Toxiproxy container. */
  readonly listen: string;
  /** `<service>:<port>` on the network. */
  readonly upstream: string;
}

export interface DockerEnvironmentPlan {
  readonly network: string;
  readonly containers: readonly ContainerDefinition[];
  readonly proxies: readonly ProxyDefinition[];
  /** What a coordinator running on the network needs: its stores through its own proxies. */
  coordinatorEnv(instanceId: string): Record<string, string>;
}

export interface DockerPlanOptions {
  readonly images: PinnedImages;
  /** Coordinator instance ids, each getting one proxy per link. At most {@link MAX_INSTANCES}. */
  readonly instances: readonly string[];
  /** Host port of Kafka's host listener (advertised to clients on the host). Default 29092. */
  readonly kafkaHostPort?: number;
  /** Host ports for Redis and PostgreSQL, fixed so that a restarted container keeps its address. Default: none (Docker picks). */
  readonly redisHostPort?: number;
  readonly postgresHostPort?: number;
  /** Redis persistence, as the local provider's. Default `'none'`. */
  readonly redisPersistence?: 'none' | 'aof-always';
}

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The proxy port of an instance's link: instance slot `i` owns two consecutive ports. */
export function proxyPort(slot: number, link: LinkName): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_INSTANCES)
    throw new InvalidArgumentError('slot', slot, `an integer from 0 to ${MAX_INSTANCES - 1}`);
  return PROXY_PORT_FIRST + slot * LINKS.length + LINKS.indexOf(link);
}

export function upstreamOf(link: LinkName): string {
  return link === 'redis' ? `redis:${REDIS_PORT}` : `postgres:${POSTGRES_PORT}`;
}

/** A URL of the link's protocol at `host:port`, the shape the coordinator expects. */
export function linkUrl(link: LinkName, host: string, port: number): string {
  return link === 'redis' ? `redis://${host}:${port}` : `postgres://${POSTGRES_USER}@${host}:${port}/postgres`;
}

export function dockerEnvironmentPlan(opts: DockerPlanOptions): DockerEnvironmentPlan {
  const { images, instances } = opts;
  if (instances.length > MAX_INSTANCES)
    throw new InvalidArgumentError('instances', instances.length, `at most ${MAX_INSTANCES} instances`);
  const seen = new Set<string>();
  for (const id of instances) {
    if (typeof id !== 'string' || !INSTANCE_ID.test(id))
      throw new InvalidArgumentError('instances', id, `instance ids matching ${INSTANCE_ID.source}`);
    if (seen.has(id)) throw new InvalidArgumentError('instances', id, 'unique instance ids');
    seen.add(id);
  }
  const kafkaHostPort = opts.kafkaHostPort ?? KAFKA_HOST_LISTENER_PORT;
  for (const [field, port] of [
    ['kafkaHostPort', kafkaHostPort],
    ['redisHostPort', opts.redisHostPort],
    ['postgresHostPort', opts.postgresHostPort],
  ] as const) {
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))
      throw new InvalidArgumentError(field, port, 'a TCP port from 1 to 65535');
  }

  const redisArgs = ['redis-server', '--protected-mode', 'no', '--save', '', '--appendonly'];
  redisArgs.push(...(opts.redisPersistence === 'aof-always' ? ['yes', '--appendfsync', 'always'] : ['no']));

  const containers: ContainerDefinition[] = [
    {
      // apache/kafka in KRaft mode: one node that is both broker and controller.
      name: 'kafka',
      image: images.KAFKA_IMAGE,
      aliases: ['kafka'],
      exposedPorts: [KAFKA_HOST_LISTENER_PORT],
      hostBindings: { [KAFKA_HOST_LISTENER_PORT]: kafkaHostPort },
      env: {
        CLUSTER_ID: KAFKA_CLUSTER_ID,
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_CONTROLLER_QUORUM_VOTERS: `1@kafka:${KAFKA_CONTROLLER_PORT}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENERS: [
          `PLAINTEXT://0.0.0.0:${KAFKA_INTERNAL_PORT}`,
          `CONTROLLER://0.0.0.0:${KAFKA_CONTROLLER_PORT}`,
          `HOST://0.0.0.0:${KAFKA_HOST_LISTENER_PORT}`,
        ].join(','),
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://kafka:${KAFKA_INTERNAL_PORT},HOST://127.0.0.1:${kafkaHostPort}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,HOST:PLAINTEXT',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
        KAFKA_NUM_PARTITIONS: '4', // what the local mock gives an auto-created topic
      },
    },
    {
      name: 'redis',
      image: images.REDIS_IMAGE,
      aliases: ['redis'],
      exposedPorts: [REDIS_PORT],
      hostBindings: opts.redisHostPort === undefined ? {} : { [REDIS_PORT]: opts.redisHostPort },
      env: {},
      command: redisArgs,
    },
    {
      // Trust authentication and the `postgres` superuser: the same URL shape as the local server.
      name: 'postgres',
      image: images.POSTGRES_IMAGE,
      aliases: ['postgres'],
      exposedPorts: [POSTGRES_PORT],
      hostBindings: opts.postgresHostPort === undefined ? {} : { [POSTGRES_PORT]: opts.postgresHostPort },
      env: {
        POSTGRES_USER,
        POSTGRES_DB: 'postgres',
        POSTGRES_HOST_AUTH_METHOD: 'trust',
      },
      // The same trade as the local server: process crashes are simulated, machine crashes are not.
      command: ['postgres', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    },
    {
      name: 'toxiproxy',
      image: images.TOXIPROXY_IMAGE,
      aliases: ['toxiproxy'],
      exposedPorts: [
        TOXIPROXY_CONTROL_PORT,
        ...Array.from({ length: PROXY_PORT_COUNT }, (_, i) => PROXY_PORT_FIRST + i),
      ],
      hostBindings: {},
      env: {},
      // Metrics on the API port for the environment's Prometheus, as in the compose stack.
      command: ['-host=0.0.0.0', '-proxy-metrics', '-runtime-metrics'],
    },
  ];

  const slotOf = new Map(instances.map((id, i) => [id, i]));
  const proxies: ProxyDefinition[] = instances.flatMap((instanceId, slot) =>
    LINKS.map((link) => ({
      name: Links.proxyName(instanceId, link),
      instanceId,
      link,
      listen: `0.0.0.0:${proxyPort(slot, link)}`,
      upstream: upstreamOf(link),
    })),
  );

  return {
    network: DOCKER_NETWORK,
    containers,
    proxies,
    coordinatorEnv(instanceId: string): Record<string, string> {
      const slot = slotOf.get(instanceId);
      if (slot === undefined)
        throw new InvalidArgumentError('instanceId', instanceId, `one of ${instances.join(', ') || '(no instances)'}`);
      return {
        COORDINATOR_REDIS_URL: linkUrl('redis', 'toxiproxy', proxyPort(slot, 'redis')),
        COORDINATOR_POSTGRES_URL: linkUrl('postgres', 'toxiproxy', proxyPort(slot, 'postgres')),
        COORDINATOR_KAFKA_BROKERS: `kafka:${KAFKA_INTERNAL_PORT}`,
        // A real broker supports the idempotent producer (the local mock does not).
        COORDINATOR_KAFKA_IDEMPOTENT: 'true',
      };
    },
  };
}
