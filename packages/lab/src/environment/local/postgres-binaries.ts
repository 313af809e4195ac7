/**
 * Finding the PostgreSQL binaries (`postgres` and `initdb`) and their major
 * version, for {@link PostgresServer.start}.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { MissingDependencyError, ProviderStartError } from '../../errors.js';
import { findExecutable } from './launch.js';

const execFileP = promisify(execFile);

export const INSTALL_HINT = 'install it with: apt-get install -y postgresql';

export interface PgBinaries {
  readonly postgres: string;
  readonly initdb: string;
  readonly major: number;
}

const versionCache = new Map<string, number>();

async function majorVersionOf(postgresBin: string): Promise<number> {
  const cached = versionCache.get(postgresBin);
  if (cached !== undefined) return cached;
  const { stdout } = await execFileP(postgresBin, ['--version']);
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(stdout);
  if (!m?.[1]) throw new ProviderStartError('postgres', `cannot read the version of ${postgresBin}: ${stdout.trim()}`);
  const major = Number(m[1]);
  versionCache.set(postgresBin, major);
  return major;
}

function versionedBinDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

export async function findBinaries(binDir: string | undefined): Promise<PgBinaries> {
  const pathDirs = (process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/'));
  const dirs = binDir !== undefined ? [resolve(binDir)] : [...versionedBinDirs(), ...pathDirs];
  for (const dir of dirs) {
    const postgres = findExecutable('postgres', [dir]);
    const initdb = findExecutable('initdb', [dir]);
    if (postgres && initdb) return { postgres, initdb, major: await majorVersionOf(postgres) };
  }
  const where = binDir !== undefined ? ` in ${binDir}` : ' under /usr/lib/postgresql/*/bin or on $PATH';
  throw new MissingDependencyError('postgres', `postgres and initdb were not found${where}; ${INSTALL_HINT}`);
}
