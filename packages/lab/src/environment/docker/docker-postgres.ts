/** PostgreSQL in a container, behind the contract's `StartedPostgresServer`. */
import pg from 'pg';
import { createDatabaseAt, type StartedPostgresServer } from '../local/postgres-server.js';
import { POSTGRES_PORT, POSTGRES_USER } from './docker-plan.js';
import { ContainerServer } from './container-server.js';
import type { PlannedContainer } from './planned-container.js';
import { waitFor } from './container-runtime.js';

function majorOf(image: string): number {
  const tag = image.split('@')[0]?.split(':').pop() ?? '';
  const m = /^(\d+)/.exec(tag);
  return m?.[1] === undefined ? Number.NaN : Number(m[1]);
}

export class DockerPostgres extends ContainerServer implements StartedPostgresServer {
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
