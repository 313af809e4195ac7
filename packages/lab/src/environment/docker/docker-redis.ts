/** Redis in a container, behind the contract's `StartedRedisServer`. */
import { InvalidArgumentError, ProviderStartError } from '../../errors.js';
import type { RedisPersistence, StartedRedisServer } from '../local/redis-server.js';
import { REDIS_PORT } from './docker-plan.js';
import { firstLine } from './docker-errors.js';
import { ContainerServer } from './container-server.js';
import type { PlannedContainer } from './planned-container.js';
import { waitFor } from './container-runtime.js';

export class DockerRedis extends ContainerServer implements StartedRedisServer {
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
