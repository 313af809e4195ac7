/**
 * `lab report <run folder>`: rebuilds `report.html` from what the folder saved — for a seed folder its own,
 * for a suite folder every seed's (void runs too) — with no server, by the code the run writes it with
 * (`writeSeedReport`). Prints each page's path; what an older folder lacked (its charts) goes to stderr.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { isSeedFolder } from '../scenario/seed-folder.js';
import { writeSeedReport } from '../scenario/stages/write.js';
import { parseOptions } from './args.js';

/** What `lab report` and `lab replay` take: a seed's folder or a suite's. */
export const RUN_FOLDER = 'a run folder: a seed folder (runs/<suite>-…/seed-N, with summary.json) or a suite folder';

const SEED_DIR = /^seed-(\d+)(?:-void-(\d+))?$/;

/**
 * The seed folders of a run folder: itself when it is one, else its `seed-N` folders (and their void runs,
 * `seed-N-void-K`), by seed. Anything else is refused, naming the folder.
 */
export async function seedFoldersOf(dir: string, field: string): Promise<{ suite: boolean; seeds: string[] }> {
  const abs = resolve(dir);
  const st = await stat(abs).catch(() => undefined);
  if (!st?.isDirectory()) throw new InvalidArgumentError(field, dir, RUN_FOLDER);
  if (await isSeedFolder(abs)) return { suite: false, seeds: [abs] };
  const key = (name: string) => {
    const m = SEED_DIR.exec(name)!;
    return [Number(m[1]), Number(m[2] ?? 0)] as const;
  };
  const names = (await readdir(abs)).filter((n) => SEED_DIR.test(n));
  const seeds: string[] = [];
  for (const n of names.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]))
    if (await isSeedFolder(join(abs, n))) seeds.push(join(abs, n));
  if (seeds.length === 0) throw new InvalidArgumentError(field, dir, `${RUN_FOLDER} (it has no seed-N folder)`);
  return { suite: true, seeds };
}

export async function reportCommand(argv: string[]): Promise<number> {
  const { positionals } = parseOptions('lab report', { args: argv, options: {}, allowPositionals: true });
  if (positionals.length !== 1)
    throw new InvalidArgumentError('lab report', positionals.join(' ') || undefined, `one argument, ${RUN_FOLDER}`);
  const { seeds } = await seedFoldersOf(positionals[0]!, 'lab report');
  let failed = 0;
  for (const seedDir of seeds) {
    const name = `${basename(join(seedDir, '..'))}/${basename(seedDir)}`;
    try {
      const { path, gaps } = await writeSeedReport(seedDir);
      process.stdout.write(`${path}\n`);
      for (const g of gaps) process.stderr.write(`lab: ${name}: ${g}\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`lab: ${name}: no report rebuilt: ${(err as Error).message}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}
