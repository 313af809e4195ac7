/**
 * A build of the coordinator at an earlier commit — the baseline of a
 * rolling upgrade, run beside the current build.
 *
 * The ref's tree is exported with `git archive` (no work tree of the
 * repository is touched) into `~/.cache/chaos-lab/baselines/<sha>`, and its
 * coordinator built there with its own TypeScript sources and the
 * TypeScript compiler of its own lock file. Third-party packages: when every
 * dependency of the ref's coordinator is locked at the same version as in
 * the current checkout, the current `node_modules` is copied (seconds, no
 * network; the workspace links in it are relative, so they point at the
 * ref's own packages); otherwise the ref's lock file is installed with
 * `npm ci`. A finished build is reused by later runs: the folder holds a
 * `built` marker only once the build succeeded.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, LabError } from '../errors.js';

const run = promisify(execFile);

export interface BaselineOptions {
  /** The repository (its root). */
  readonly root: string;
  /** Where builds are kept. Default `$XDG_CACHE_HOME/chaos-lab/baselines`, else `~/.cache/chaos-lab/baselines`. */
  readonly cacheDir?: string;
  readonly progress?: (line: string) => void;
}

export interface BaselineBuild {
  readonly ref: string;
  readonly sha: string;
  /** The built coordinator's entry point. */
  readonly entry: string;
  /** How its packages were had: copied from the checkout, or installed from its own lock file. */
  readonly packages: 'copied' | 'npm ci';
  readonly reused: boolean;
}

function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'chaos-lab', 'baselines');
}

async function git(root: string, args: string[]): Promise<string> {
  return (await run('git', ['-C', root, ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

interface Lock {
  readonly packages?: Record<string, { readonly version?: string }>;
}

/** The coordinator's third-party dependencies whose locked version differs between the ref and the checkout. */
function lockDifferences(coordinatorPkg: string, refLock: string, currentLock: string): string[] {
  const deps = Object.keys(
    (JSON.parse(coordinatorPkg) as { dependencies?: Record<string, string> }).dependencies ?? {},
  );
  const a = JSON.parse(refLock) as Lock;
  const b = JSON.parse(currentLock) as Lock;
  return deps
    .filter((d) => !d.startsWith('@chaos-lab/'))
    .filter((d) => a.packages?.[`node_modules/${d}`]?.version !== b.packages?.[`node_modules/${d}`]?.version);
}

export async function buildBaseline(ref: string, o: BaselineOptions): Promise<BaselineBuild> {
  if (!/^[\w./~^@{}-]{1,200}$/.test(ref)) throw new InvalidArgumentError('LAB_BASELINE_REF', ref, 'a git ref or sha');
  const progress = o.progress ?? (() => {});
  let sha: string;
  try {
    sha = (await git(o.root, ['rev-parse', '--verify', `${ref}^{commit}`])).trim();
  } catch (err) {
    throw new InvalidArgumentError(
      'LAB_BASELINE_REF',
      ref,
      `a commit of the repository at ${o.root} (git rev-parse: ${(err as { stderr?: string }).stderr?.trim() ?? String(err)})`,
    );
  }
  const dir = join(o.cacheDir ?? defaultCacheDir(), sha);
  const entry = join(dir, 'apps', 'coordinator', 'dist', 'main.js');
  const marker = join(dir, 'built');
  if (existsSync(marker) && existsSync(entry)) {
    const packages = (await readFile(marker, 'utf8')).trim() === 'npm ci' ? 'npm ci' : 'copied';
    return { ref, sha, entry, packages, reused: true };
  }
  const t0 = performance.now();
  progress(`lab: building the baseline coordinator at ${ref} (${sha.slice(0, 12)}) in ${dir}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    // git archive | tar -x: the ref's tree, nothing of the work tree.
    await run('bash', ['-c', `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, 'archive', o.root, sha, dir], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const differs = lockDifferences(
      await readFile(join(dir, 'apps', 'coordinator', 'package.json'), 'utf8'),
      await readFile(join(dir, 'package-lock.json'), 'utf8'),
      await readFile(join(o.root, 'package-lock.json'), 'utf8'),
    );
    const packages: BaselineBuild['packages'] = differs.length === 0 ? 'copied' : 'npm ci';
    if (packages === 'copied') {
      await cp(join(o.root, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    } else {
      progress(`lab: the baseline locks ${differs.join(', ')} at other versions: npm ci`);
      await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: dir,
        maxBuffer: 64 * 1024 * 1024,
      });
    }
    await run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'apps/coordinator'], {
      cwd: dir,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (!existsSync(entry)) throw new LabError(`the build left no ${entry}`);
    await writeFile(marker, packages + '\n');
    progress(
      `lab: baseline coordinator built in ${((performance.now() - t0) / 1000).toFixed(1)} s (packages ${packages})`,
    );
    return { ref, sha, entry, packages, reused: false };
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message?: string };
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new LabError(
      `the baseline coordinator at ${ref} (${sha.slice(0, 12)}) could not be built in ${dir}: ${e.message ?? String(err)}${out ? `\n${out}` : ''}`,
      { cause: err },
    );
  }
}
