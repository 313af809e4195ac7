/**
 * Running PostgreSQL as the `postgres` user when the lab is root.
 *
 * PostgreSQL refuses to run as root. When the lab is root, initdb and the
 * server run as the `postgres` system user, the data and socket dirs are
 * chowned to it, and the lab's own temp folders on the way (created 0700
 * by mkdtemp) get the "others may traverse" bit. Folders outside the temp
 * dir are never loosened; an unreachable one is a clear error instead.
 */
import { readFileSync } from 'node:fs';
import { chmod, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { MissingDependencyError, ProviderStartError } from '../../errors.js';
import { INSTALL_HINT } from './postgres-binaries.js';
import { execTracked } from '../../process/exec-tracked.js';

export interface OsUser {
  readonly uid: number;
  readonly gid: number;
}

/** The `postgres` system user when the lab runs as root; undefined otherwise (run as ourselves). */
export function serverOsUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // handled below
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'postgres' && f[2] && f[3]) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new MissingDependencyError(
    'postgres (system user)',
    `PostgreSQL refuses to run as root and there is no "postgres" user; ${INSTALL_HINT} (it creates the user)`,
  );
}

function canTraverse(st: { uid: number; gid: number; mode: number }, user: OsUser): boolean {
  if (st.uid === user.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === user.gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * Makes sure the server user can reach `dir`: every folder on the way must
 * be traversable. Folders inside the temp dir (ours, from mkdtemp) get o+x;
 * anything else that blocks the way is reported, never changed.
 */
export async function ensureTraversable(dir: string, user: OsUser): Promise<void> {
  const tmp = resolve(tmpdir());
  let d = resolve(dir);
  for (;;) {
    const st = await stat(d);
    if (!canTraverse(st, user)) {
      if (d.startsWith(tmp + sep)) {
        await chmod(d, (st.mode & 0o7777) | 0o001);
      } else {
        throw new ProviderStartError(
          'postgres',
          `the postgres user cannot reach ${dir} because ${d} is not traversable for it; use a work dir under ${tmp}`,
        );
      }
    }
    const parent = dirname(d);
    if (parent === d) return;
    d = parent;
  }
}

/** `cp -a` keeps ownership when run as root; if the owner is not the server user anyway, chown -R. */
export async function ensureOwnedBy(dir: string, user: OsUser): Promise<void> {
  const top = await stat(dir);
  const inner = await stat(join(dir, 'PG_VERSION'));
  if (top.uid !== user.uid || inner.uid !== user.uid) {
    await execTracked('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  }
}
