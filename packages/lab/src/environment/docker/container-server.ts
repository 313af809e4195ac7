/** Redis and PostgreSQL as the scenarios know them, in a container: what the two servers share. */
import type { PlannedContainer } from './planned-container.js';

/**
 * A server in a container, as the scenarios drive one: where it listens on the host, its process, and stop,
 * kill, pause and resume. Operations on one container run one at a time (its queue); a restart or kill waits
 * for a pause or resume in flight (`pending`).
 */
export abstract class ContainerServer {
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
  /** Resolves once the container is frozen; the next operation on it waits for this too. */
  pause(): Promise<void> {
    return this.queued(() => this.c.pause());
  }

  resume(): Promise<void> {
    return this.queued(() => this.c.resume());
  }

  private queued(op: () => Promise<void>): Promise<void> {
    const done = this.c.ops.run(op);
    this.pending = done.catch(() => {});
    return done;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
