/**
 * The client side of a PostgreSQL server: its connection string, the
 * readiness query and creating databases.
 */
import pg from 'pg';
import { InvalidArgumentError } from '../../errors.js';
import { LOOPBACK } from './launch.js';

/** Database names accepted by {@link StartedPostgresServer.createDatabase}. */
export const DATABASE_NAME_RE = /^[a-z_][a-z0-9_]{0,62}$/;
/** The database superuser created by initdb. */
export const POSTGRES_USER = 'postgres';

/**
 * `CREATE DATABASE <name>` through the server at `adminUrl` (a local server or a container alike). A name
 * that is not a plain identifier is rejected, naming it, before anything is sent.
 */
export async function createDatabaseAt(adminUrl: string, name: string): Promise<void> {
  if (typeof name !== 'string' || !DATABASE_NAME_RE.test(name)) {
    throw new InvalidArgumentError('database', name, `a name matching ${DATABASE_NAME_RE.source}`);
  }
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end().catch(() => {});
  }
}

export function connectionString(port: number, database: string): string {
  return `postgres://${POSTGRES_USER}@${LOOPBACK}:${port}/${encodeURIComponent(database)}`;
}

/** Answers with the server's data_directory, proving the answer comes from our server. */
export async function dataDirectoryOf(port: number): Promise<string | undefined> {
  const client = new pg.Client({
    connectionString: connectionString(port, 'postgres'),
    connectionTimeoutMillis: 1_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query<{ d: string }>(`SELECT current_setting('data_directory') AS d`);
    return r.rows[0]?.d;
  } finally {
    await client.end().catch(() => {});
  }
}
