/**
 * The cached `initdb` template of a PostgreSQL data dir, one per machine.
 *
 * `initdb` costs about a second, so it runs once per machine: the result is
 * cached as a template data dir (`$LAB_CACHE_DIR/pg<major>-template`,
 * default `~/.cache/chaos-lab/pg<major>-template`) and each start copies it
 * (`cp -a`, tens of milliseconds). Creating the cache is safe when several
 * processes race: each one runs initdb in its own temp folder and publishes
 * the result with one atomic rename(); the losers throw their copy away. A
 * cache folder that exists is therefore always complete.
 */
import { chown, mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ManagedProcess } from '../../process/managed-process.js';
import { InvalidArgumentError, ProviderStartError } from '../../errors.js';
import type { PgBinaries } from './postgres-binaries.js';
import { POSTGRES_USER } from './postgres-client.js';
import { type OsUser, ensureTraversable } from './postgres-user.js';
import { createWorkDir, recordPidSync } from './work-dir.js';
import { execTracked } from '../../process/exec-tracked.js';

export function defaultTemplateDir(major: number): string {
  const base = process.env.LAB_CACHE_DIR || join(homedir(), '.cache', 'chaos-lab');
  return join(base, `pg${major}-template`);
}

async function templateState(dir: string, major: number): Promise<'ready' | 'absent' | 'foreign'> {
  try {
    const v = (await readFile(join(dir, 'PG_VERSION'), 'utf8')).trim();
    return v === String(major) ? 'ready' : 'foreign';
  } catch {
    try {
      return (await readdir(dir)).length === 0 ? 'absent' : 'foreign';
    } catch {
      return 'absent';
    }
  }
}

function lostRace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}

/** Returns the template dir, creating it with initdb if needed. */
export async function ensureTemplate(bins: PgBinaries, cacheDir: string, user: OsUser | undefined): Promise<string> {
  const state = await templateState(cacheDir, bins.major);
  if (state === 'ready') return cacheDir;
  if (state === 'foreign') {
    throw new InvalidArgumentError(
      'templateCacheDir',
      cacheDir,
      `a missing or empty folder, or a PostgreSQL ${bins.major} template made by the lab`,
    );
  }
  await mkdir(dirname(cacheDir), { recursive: true });
  // initdb runs in a private temp folder (registered for cleanup, reapable),
  // because the cache location may not be reachable for the postgres user.
  const staging = await createWorkDir('chaos-lab-pginit-');
  try {
    const parent = join(staging.path, 'pg');
    const data = join(parent, 'data');
    await mkdir(parent, { mode: 0o700 });
    if (user) {
      await chown(parent, user.uid, user.gid);
      await ensureTraversable(parent, user);
    }
    const logFile = join(staging.path, 'initdb.log');
    const proc = await ManagedProcess.spawn({
      name: 'initdb',
      command: bins.initdb,
      args: [
        '-D',
        data,
        '-A',
        'trust',
        '-U',
        POSTGRES_USER,
        '--no-sync',
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
        '--no-instructions',
      ],
      cwd: parent,
      logFile,
      ...(user && { uid: user.uid, gid: user.gid }),
      onSpawn: (pid) => recordPidSync(staging.path, pid, bins.initdb),
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 120_000)));
    const outcome = await Promise.race([proc.exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') await proc.kill();
    const exit = await proc.stop();
    if (outcome === 'timeout' || exit.code !== 0) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new ProviderStartError(
        'postgres',
        `initdb ${outcome === 'timeout' ? 'did not finish within 120 s' : `failed (code ${exit.code}, signal ${exit.signal})`}:\n${log.trimEnd()}\n`,
      );
    }
    // Publish with one rename: all or nothing, so an existing cache dir is complete.
    try {
      await rename(data, cacheDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') {
        // Different filesystem: copy next to the cache dir first, then rename there.
        const sibling = `${cacheDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
        try {
          await execTracked('cp', ['-a', '--', data, sibling]);
          await rename(sibling, cacheDir);
        } catch (err2) {
          if (!lostRace(err2)) throw err2;
        } finally {
          await rm(sibling, { recursive: true, force: true });
        }
      } else if (!lostRace(err)) {
        throw err;
      }
      // lostRace: another process published its template first; use that one.
    }
  } finally {
    await staging.remove();
  }
  if ((await templateState(cacheDir, bins.major)) !== 'ready') {
    throw new ProviderStartError('postgres', `the template cache ${cacheDir} is not usable after initdb`);
  }
  return cacheDir;
}
