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
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GenericContainer, Network, getContainerRuntimeClient, Wait } from 'testcontainers';
import type { ContainerRuntimeClient, StartedNetwork, StartedTestContainer } from 'testcontainers';
import { RedisContainer } from '@testcontainers/redis';
import { PostgreSqlContainer } from '@testcontainers/postgresql';
import { ToxiProxyContainer } from '@testcontainers/toxiproxy';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Toxiproxy } from 'toxiproxy-node-client';
import {
  InvalidArgumentError,
  LabError,
  LabTimeoutError,
  MissingDependencyError,
  ProviderStartError,
} from '../../errors.js';
import { PrometheusServer, type StartedPrometheus } from '../local/prometheus-server.js';
import { createWorkDir, type WorkDir } from '../local/work-dir.js';
import { registerCleanup } from '../../process/cleanup.js';
import { freePort } from '../../process/ports.js';
import { OperationQueue } from '../local/launch.js';
import type { RedisPersistence, StartedRedisServer } from '../local/redis-server.js';
import { createDatabaseAt, type StartedPostgresServer } from '../local/postgres-server.js';
import type { KafkaMockStatus } from '../local/kafka-mock.js';
import type { KafkaApi, KafkaErrorName } from '../kafka-protocol.js';
import { LINKS, Links, type InstanceLinks, type LinkName } from '../../links/links.js';
import type { StartedFaultProxy } from '../local/fault-proxy-process.js';
import {
  prometheusFromEnv,
  serverEndpoints,
  type EnvironmentKafka,
  type EnvironmentOptions,
  type StartedEnvironment,
} from '../local/local-environment.js';
import { readPinnedImages, type PinnedImages } from './images.js';
import {
  KAFKA_HOST_LISTENER_PORT,
  MAX_INSTANCES,
  POSTGRES_PORT,
  POSTGRES_USER,
  REDIS_PORT,
  TOXIPROXY_CONTROL_PORT,
  dockerEnvironmentPlan,
  linkUrl,
  proxyPort,
  upstreamOf,
  type ContainerDefinition,
  type DockerEnvironmentPlan,
  type ServiceName,
} from './docker-plan.js';
import { NoContainerRuntimeError, UnresolvedAliasError, UnsupportedOnDockerError, firstLine } from './docker-errors.js';

export interface DockerEnvironmentOptions extends EnvironmentOptions {
  /** How long the container runtime may take to answer. Default 5000 ms. */
  readonly runtimeTimeoutMs?: number;
  /** Default: {@link readPinnedImages} (the repository's `.env`). */
  readonly images?: PinnedImages;
  /** How long each container may take to become ready. Default 180 000 ms (image pulls included). */
  readonly startupTimeoutMs?: number;
}

/**
 * Resolves with the runtime client, or rejects with a one-line
 * {@link NoContainerRuntimeError} when none answers within `timeoutMs`.
 */
export async function requireContainerRuntime(timeoutMs = 5_000): Promise<ContainerRuntimeClient> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LabTimeoutError('an answer from the container runtime', timeoutMs)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([getContainerRuntimeClient(), timeout]);
  } catch (err) {
    throw new NoContainerRuntimeError(firstLine(err), { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (performance.now() > deadline) throw new LabTimeoutError(what, timeoutMs);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => (s.destroy(), resolve(false)), 1_000);
    s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(true)));
    s.once('error', () => (clearTimeout(t), resolve(false)));
  });
}

// ---------------------------------------------------------------------------
// One container of the plan: started, restarted, stopped, and always released.

type ContainerState = 'running' | 'paused' | 'stopped' | 'removed';

class PlannedContainer {
  private started: StartedTestContainer | undefined;
  private state: ContainerState = 'removed';
  private hostPid = -1;
  private unregister: () => void = () => {};
  readonly ops = new OperationQueue();

  constructor(
    readonly def: ContainerDefinition,
    private readonly client: ContainerRuntimeClient,
    private readonly network: StartedNetwork,
    readonly logFile: string,
    private readonly startupTimeoutMs: number,
  ) {}

  get running(): boolean {
    return this.state === 'running' || this.state === 'paused';
  }
  get pid(): number {
    return this.hostPid;
  }
  get container(): StartedTestContainer {
    if (!this.started) throw new LabError(`${this.def.name}: the container is gone`);
    return this.started;
  }
  get host(): string {
    return this.container.getHost();
  }
  mappedPort(port: number): number {
    return this.def.hostBindings[port] ?? this.container.getMappedPort(port);
  }

  /** Builds the container from its definition; the module classes bring their readiness checks. */
  private build(): GenericContainer {
    const d = this.def;
    const c =
      d.name === 'redis'
        ? new RedisContainer(d.image)
        : d.name === 'postgres'
          ? new PostgreSqlContainer(d.image)
              .withUsername(POSTGRES_USER)
              .withDatabase('postgres')
              // Ready when it answers on TCP, asked by exec rather than through the image's healthcheck,
              // which a runtime without systemd (podman in a container or a VM like these) never runs.
              .withWaitStrategy(Wait.forSuccessfulCommand(`pg_isready --host 127.0.0.1 --username ${POSTGRES_USER}`))
          : d.name === 'toxiproxy'
            ? new ToxiProxyContainer(d.image)
            : // apache/kafka: ready once the KRaft server says so (the port opens earlier).
              new GenericContainer(d.image).withWaitStrategy(Wait.forLogMessage(/Kafka Server started/));
    c.withNetwork(this.network)
      .withNetworkAliases(...d.aliases)
      .withEnvironment({ ...d.env })
      .withExposedPorts(
        ...d.exposedPorts.map((p) => {
          const host = d.hostBindings[p];
          return host === undefined ? p : { container: p, host };
        }),
      )
      .withStartupTimeout(this.startupTimeoutMs)
      .withLogConsumer((s) => this.capture(s));
    if (d.command) c.withCommand([...d.command]);
    return c;
  }

  private capture(stream: Readable): void {
    stream.pipe(createWriteStream(this.logFile, { flags: 'a' })).on('error', () => {});
  }

  async start(): Promise<void> {
    const started = await this.build().start();
    this.started = started;
    this.state = 'running';
    this.unregister();
    const id = started.getId();
    this.unregister = registerCleanup({
      name: `container ${this.def.name} (${id.slice(0, 12)})`,
      run: () => this.remove(),
      // On 'exit' nothing asynchronous runs: ask the docker CLI if there is one; Ryuk is the backstop.
      killSync: () => void spawnSync('docker', ['rm', '-f', id], { stdio: 'ignore', timeout: 5_000 }),
    });
    await this.refreshPid();
  }

  private docker() {
    return this.client.container.dockerode.getContainer(this.container.getId());
  }

  private async refreshPid(): Promise<void> {
    const info = await this.client.container.inspect(this.client.container.getById(this.container.getId()));
    this.hostPid = info.State.Running ? info.State.Pid : -1;
  }

  /** After a restart the log stream of the first start has ended: follow the new one. */
  private async followLogs(sinceSec: number): Promise<void> {
    const s = await this.container.logs({ since: sinceSec }).catch(() => undefined);
    if (s) this.capture(s);
  }

  /** `docker restart` (the container's own stop signal, then start), or a start when it is not running. */
  async restart(): Promise<void> {
    const since = Math.floor(Date.now() / 1000);
    if (this.state === 'paused') await this.docker().unpause();
    await this.client.container.restart(this.client.container.getById(this.container.getId()), { timeout: 10 });
    this.state = 'running';
    await this.refreshPid();
    await this.followLogs(since);
  }

  /** `docker stop` without removal: the container and its data stay, its ports close. */
  async stopKeeping(): Promise<void> {
    if (this.state === 'paused') await this.docker().unpause();
    if (this.state === 'running' || this.state === 'paused')
      await this.client.container.stop(this.client.container.getById(this.container.getId()), { timeout: 10 });
    this.state = 'stopped';
    this.hostPid = -1;
  }

  async startAgain(): Promise<void> {
    if (this.state !== 'stopped') return;
    const since = Math.floor(Date.now() / 1000);
    await this.client.container.start(this.client.container.getById(this.container.getId()));
    this.state = 'running';
    await this.refreshPid();
    await this.followLogs(since);
  }

  /** SIGKILL to the container's init: every process in it dies at once, a crash. */
  async kill(): Promise<void> {
    if (this.state === 'paused') await this.docker().unpause();
    if (this.state === 'running' || this.state === 'paused') await this.docker().kill({ signal: 'SIGKILL' });
    this.state = 'stopped';
    this.hostPid = -1;
  }

  async pause(): Promise<void> {
    if (this.state !== 'running') return;
    await this.docker().pause();
    this.state = 'paused';
  }

  async resume(): Promise<void> {
    if (this.state !== 'paused') return;
    await this.docker().unpause();
    this.state = 'running';
  }

  /** Stops and removes the container. Idempotent. */
  async remove(): Promise<void> {
    if (this.state === 'removed' || !this.started) return;
    const c = this.started;
    const wasPaused = this.state === 'paused';
    this.state = 'removed';
    this.hostPid = -1;
    try {
      if (wasPaused) await this.docker().unpause();
    } catch {
      // a paused container can still be removed by force below
    }
    try {
      await c.stop({ remove: true, removeVolumes: true, timeout: 10_000 });
    } finally {
      this.unregister();
    }
  }

  /** Removes the container and starts a fresh one from the same definition (same alias, same fixed ports). */
  async recreate(): Promise<void> {
    await this.remove();
    await this.start();
  }
}

// ---------------------------------------------------------------------------
// Redis and PostgreSQL as the scenarios know them.

/**
 * A server in a container, as the scenarios drive one: where it listens on the host, its process, and stop,
 * kill, pause and resume. Operations on one container run one at a time (its queue); pause and resume are
 * asynchronous underneath, and the next operation waits for them (`pending`).
 */
abstract class ContainerServer {
  protected pending: Promise<void> = Promise.resolve();

  constructor(
    protected readonly c: PlannedContainer,
    private readonly containerPort: number,
  ) {}

  get host(): string {
    return this.c.host;
  }
  get port(): number {
    return this.c.mappedPort(this.containerPort);
  }
  get pid(): number {
    return this.c.pid;
  }
  get running(): boolean {
    return this.c.running;
  }
  get logFile(): string {
    return this.c.logFile;
  }

  stop(): Promise<void> {
    return this.c.ops.run(() => this.c.remove());
  }

  kill(): Promise<void> {
    return this.c.ops.run(async () => {
      await this.pending;
      await this.c.kill();
    });
  }

  /** Approximation: the container is frozen a few milliseconds after this returns. */
  pause(): void {
    this.pending = this.c.ops.run(() => this.c.pause()).catch(() => {});
  }

  resume(): void {
    this.pending = this.c.ops.run(() => this.c.resume()).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

class DockerRedis extends ContainerServer implements StartedRedisServer {
  /** Inside the container: the official image's working directory. */
  readonly dataDir = '/data';

  constructor(
    c: PlannedContainer,
    readonly persistence: RedisPersistence,
  ) {
    super(c, REDIS_PORT);
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /**
   * `keepData: false` replaces the container with a fresh one: whatever the
   * persistence, the server comes back empty. `keepData: true` restarts the
   * container; with persistence `'none'` a running server SAVEs first and
   * the snapshot is deleted once it has been loaded, so a later restart
   * without data cannot find it.
   */
  restart(options: { readonly keepData: boolean }): Promise<void> {
    if (typeof options?.keepData !== 'boolean')
      return Promise.reject(new InvalidArgumentError('keepData', options?.keepData, 'true or false'));
    return this.c.ops.run(async () => {
      await this.pending;
      if (!options.keepData) {
        await this.c.recreate();
        return;
      }
      const snapshot = this.persistence === 'none' && this.c.running;
      if (snapshot) {
        await this.c.resume();
        const r = await this.c.container.exec(['redis-cli', 'SAVE']);
        if (r.exitCode !== 0 || !r.output.includes('OK'))
          throw new ProviderStartError('redis', `SAVE before the restart failed: ${firstLine(r.output)}`);
      }
      await this.c.restart();
      await waitFor('redis answers PING after the restart', async () => this.ping(), 30_000);
      if (snapshot) await this.c.container.exec(['rm', '-f', '/data/dump.rdb']);
    });
  }

  private async ping(): Promise<boolean> {
    const r = await this.c.container.exec(['redis-cli', 'PING']);
    return r.exitCode === 0 && r.output.includes('PONG');
  }
}

function majorOf(image: string): number {
  const tag = image.split('@')[0]?.split(':').pop() ?? '';
  const m = /^(\d+)/.exec(tag);
  return m?.[1] === undefined ? Number.NaN : Number(m[1]);
}

class DockerPostgres extends ContainerServer implements StartedPostgresServer {
  readonly user = POSTGRES_USER;
  /** Inside the container (the official image's PGDATA). */
  readonly dataDir = '/var/lib/postgresql/data';
  readonly socketDir = '/var/run/postgresql';
  /** From the image tag (`postgres:16.4` → 16); NaN for an image tagged otherwise. */
  readonly majorVersion: number;

  constructor(c: PlannedContainer) {
    super(c, POSTGRES_PORT);
    this.majorVersion = majorOf(c.def.image);
  }

  connectionString(database = 'postgres'): string {
    return `postgres://${POSTGRES_USER}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  async createDatabase(name: string): Promise<string> {
    await createDatabaseAt(this.connectionString(), name);
    return this.connectionString(name);
  }

  /** `docker restart`: the image's stop signal is SIGINT, a fast shutdown, as the local server's. */
  restart(): Promise<void> {
    return this.c.ops.run(async () => {
      await this.pending;
      await this.c.restart();
      await waitFor('postgres answers a query after the restart', () => this.answers(), 60_000);
    });
  }

  private async answers(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.connectionString(), connectionTimeoutMillis: 1_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Approximation: only the container's main process (the postmaster), as a host pid; backends are not listed. */
  processes(): number[] {
    return this.c.pid > 0 ? [this.c.pid] : [];
  }
}

// ---------------------------------------------------------------------------
// Kafka: one real KRaft broker, with the mock's control surface where it maps.

/** The public surface of the mock's handle (a class with private fields cannot be implemented structurally). */
type KafkaControl = EnvironmentKafka;

const BROKER_ID = 1;

class DockerKafka implements KafkaControl {
  readonly brokerIds = [BROKER_ID];
  /** There is no control API: the broker is driven through the container runtime. */
  readonly controlUrl = '';
  private readonly topics = new Map<string, { partitions: number; replicationFactor: number }>();
  private down = false;

  constructor(private readonly c: PlannedContainer) {}

  get bootstrapServers(): string[] {
    return [`${this.c.host}:${this.c.mappedPort(KAFKA_HOST_LISTENER_PORT)}`];
  }
  get logFile(): string {
    return this.c.logFile;
  }
  get pid(): number | undefined {
    return this.c.pid > 0 ? this.c.pid : undefined;
  }
  /** True while the container exists, even with the broker down, as the mock host stays up then. */
  get running(): boolean {
    return this.c.running || this.down;
  }

  private admin() {
    return new Kafka({ brokers: this.bootstrapServers, logLevel: logLevel.NOTHING, clientId: 'lab-docker' }).admin();
  }

  private requireBroker(field: string, id: number): void {
    if (id !== BROKER_ID)
      throw new InvalidArgumentError(field, id, `${BROKER_ID} (the docker provider runs one broker)`);
  }

  async createTopic(name: string, partitions: number, replicationFactor = 1): Promise<void> {
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000)
      throw new InvalidArgumentError('partitions', partitions, 'an integer from 1 to 1000');
    if (replicationFactor !== 1)
      throw new InvalidArgumentError('replicationFactor', replicationFactor, '1 (one broker)');
    const admin = this.admin();
    await admin.connect();
    try {
      // false = it already existed; like the mock, creating an existing topic is not an error.
      await admin.createTopics({
        topics: [{ topic: name, numPartitions: partitions, replicationFactor }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    this.topics.set(name, { partitions, replicationFactor });
  }

  /** Stops the broker's container: connections closed and refused. Unlike the mock, the broker really shuts down. */
  async setBrokerDown(id: number): Promise<void> {
    this.requireBroker('id', id);
    await this.c.ops.run(() => this.c.stopKeeping());
    this.down = true;
  }

  async setBrokerUp(id: number): Promise<void> {
    this.requireBroker('id', id);
    await this.c.ops.run(async () => {
      await this.c.startAgain();
      const [host, port] = [this.c.host, this.c.mappedPort(KAFKA_HOST_LISTENER_PORT)];
      await waitFor('the kafka broker accepts connections again', () => tcpOpen(host, port), 120_000);
    });
    this.down = false;
  }

  async setBrokerRtt(_id: number, _ms: number): Promise<void> {
    throw new UnsupportedOnDockerError('kafka.setBrokerRtt', 'a real broker has no response delay setting');
  }

  /** Broker 1 leads every partition already: a move to it is accepted; any other move cannot happen. */
  async setPartitionLeader(_topic: string, _partition: number, brokerId: number): Promise<void> {
    if (brokerId === BROKER_ID) return;
    throw new UnsupportedOnDockerError(
      'kafka.setPartitionLeader',
      `one broker leads every partition, so leadership cannot move to ${brokerId}`,
    );
  }

  async pushRequestErrors(_api: KafkaApi | number, _errors: (KafkaErrorName | number)[]): Promise<void> {
    throw new UnsupportedOnDockerError(
      'kafka.pushRequestErrors',
      'a real broker cannot be told to answer with injected errors',
    );
  }

  async pushBrokerRequestErrors(
    _broker: number,
    _api: KafkaApi | number,
    _errors: (KafkaErrorName | number)[],
  ): Promise<void> {
    throw new UnsupportedOnDockerError(
      'kafka.pushBrokerRequestErrors',
      'a real broker cannot be told to answer with injected errors',
    );
  }

  async pendingRequestErrors(_broker: number, _api: KafkaApi): Promise<number> {
    throw new UnsupportedOnDockerError(
      'kafka.pendingRequestErrors',
      'a real broker cannot be told to answer with injected errors',
    );
  }

  /** The only broker coordinates every group: a pin to it holds by itself. */
  async setCoordinator(_keyType: 'group' | 'transaction', _key: string, brokerId: number): Promise<void> {
    if (brokerId === BROKER_ID) return;
    throw new UnsupportedOnDockerError(
      'kafka.setCoordinator',
      `the coordinator cannot be pinned to broker ${brokerId}`,
    );
  }

  async setTopicError(_topic: string, _error: KafkaErrorName | number): Promise<void> {
    throw new UnsupportedOnDockerError('kafka.setTopicError', 'a real broker reports no injected topic errors');
  }

  /** The mock's status shape; `librdkafkaVersion` names the image instead, and `pid` is the container's host pid. */
  async status(): Promise<KafkaMockStatus> {
    return {
      bootstrapServers: this.bootstrapServers.join(','),
      brokers: [...this.brokerIds],
      brokersDown: this.down ? [BROKER_ID] : [],
      rttMs: {},
      topics: [...this.topics].map(([name, t]) => ({ name, ...t })),
      librdkafkaVersion: `n/a (${this.c.def.image})`,
      pid: this.c.pid,
    };
  }

  stop(): Promise<void> {
    return this.c.ops.run(() => this.c.remove());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

// ---------------------------------------------------------------------------
// Links on the real Toxiproxy: the proxies listen on the container's exposed
// range, and the lab reaches them through the host-mapped ports.

class DockerLinks extends Links {
  private readonly tp: Toxiproxy;
  private readonly slots = new Map<string, number>();

  constructor(
    apiUrl: string,
    private readonly toxiproxy: PlannedContainer,
  ) {
    super(apiUrl, { redis: upstreamOf('redis'), postgres: upstreamOf('postgres'), postgresUser: POSTGRES_USER });
    this.tp = new Toxiproxy(apiUrl);
  }

  override async create(instanceId: string): Promise<InstanceLinks> {
    let slot = this.slots.get(instanceId);
    if (slot === undefined) {
      slot = this.slots.size;
      if (slot >= MAX_INSTANCES)
        throw new InvalidArgumentError(
          'instanceId',
          instanceId,
          `at most ${MAX_INSTANCES} instances on the docker provider`,
        );
    }
    await this.tp.populate(
      LINKS.map((link) => ({
        name: Links.proxyName(instanceId, link),
        listen: `0.0.0.0:${proxyPort(slot, link)}`,
        upstream: upstreamOf(link),
        enabled: true,
      })),
    );
    this.slots.set(instanceId, slot);
    const host = this.toxiproxy.host;
    return {
      redisUrl: linkUrl('redis', host, this.toxiproxy.mappedPort(proxyPort(slot, 'redis'))),
      postgresUrl: linkUrl('postgres', host, this.toxiproxy.mappedPort(proxyPort(slot, 'postgres'))),
    };
  }

  override names(target: string, link: LinkName): string[] {
    if (!(LINKS as readonly string[]).includes(link))
      throw new InvalidArgumentError('link', link, `one of ${LINKS.join(', ')}`);
    if (target === 'all') return [...this.slots.keys()].map((i) => Links.proxyName(i, link));
    if (!this.slots.has(target))
      throw new InvalidArgumentError('target', target, `"all" or one of ${[...this.slots.keys()].join(', ')}`);
    return [Links.proxyName(target, link)];
  }

  /** The host address of a proxy (Toxiproxy reports the port inside its container). */
  override async listen(proxy: string): Promise<{ host: string; port: number }> {
    const inside = await super.listen(proxy);
    return { host: this.toxiproxy.host, port: this.toxiproxy.mappedPort(inside.port) };
  }
}

// ---------------------------------------------------------------------------
// The proxies' upstreams are network aliases: without container DNS every
// connection through Toxiproxy is closed at once, which a client reports as
// "Connection is closed". Asked once at start instead.

/** What {@link checkAliasesResolve} needs of a container: testcontainers' exec. */
interface Execs {
  exec(command: string[]): Promise<{ exitCode: number; output: string }>;
}

/**
 * Rejects with a one-line {@link UnresolvedAliasError} when `aliases` do not
 * all resolve inside `asker` (`getent hosts`, which the Debian and Alpine
 * images of Redis and PostgreSQL have). An image without a shell or
 * `getent` cannot answer (exit 126/127): nothing is claimed then.
 */
export async function checkAliasesResolve(
  asker: Execs,
  aliases: readonly string[],
  where: { network: string; askedFrom: string },
): Promise<void> {
  const script = 'for a; do getent hosts "$a" >/dev/null || echo "unresolved $a"; done';
  const r = await asker.exec(['sh', '-c', script, 'sh', ...aliases]);
  if (r.exitCode === 126 || r.exitCode === 127) return;
  const unresolved = [...r.output.matchAll(/^unresolved (\S+)$/gm)].map((m) => m[1]!);
  if (unresolved.length > 0) throw new UnresolvedAliasError(where.network, unresolved, where.askedFrom);
}

// ---------------------------------------------------------------------------

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
