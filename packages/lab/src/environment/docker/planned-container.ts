/** One container of the plan: started, restarted, stopped, and always released. */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { GenericContainer, Wait } from 'testcontainers';
import type { ContainerRuntimeClient, StartedNetwork, StartedTestContainer } from 'testcontainers';
import { RedisContainer } from '@testcontainers/redis';
import { PostgreSqlContainer } from '@testcontainers/postgresql';
import { ToxiProxyContainer } from '@testcontainers/toxiproxy';
import { LabError } from '../../errors.js';
import { registerCleanup } from '../../process/cleanup.js';
import { OperationQueue } from '../local/launch.js';
import { POSTGRES_USER, type ContainerDefinition } from './docker-plan.js';

type ContainerState = 'running' | 'paused' | 'stopped' | 'removed';

export class PlannedContainer {
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
