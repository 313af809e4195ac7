/**
 * `lab verdicts join <run folder>... [--out DIR] [--json]`: the verdicts of suite runs (their `run.json`)
 * merged into one table — a CI matrix's shards put back together. Exit 0 when every seed is valid; 1 when
 * one is not, a shard is missing, a seed appears twice or was never run; 2 on a bad argument. The joining
 * itself is `verdicts/join.ts`.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import { readSuiteRecord, SUITE_RECORD } from '../scenario/suite-record.js';
import { junitXml } from '../junit/junit.js';
import { formatJoin, joinMarkdown, joinRuns, type RunFolder } from '../verdicts/join.js';

const FORM = 'join <run folder>... [--out DIR] [--json]';

/** A suite folder's record; a folder that is not one is a bad argument, named with what it is instead. */
async function readRunFolder(dir: string): Promise<RunFolder> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory())
    throw new InvalidArgumentError('run folder', dir, 'an existing suite folder, written by lab run <suite>');
  if (!existsSync(join(dir, SUITE_RECORD))) {
    const seedFolder = existsSync(join(dir, 'verdicts.json')) && existsSync(join(dirname(dir), SUITE_RECORD));
    throw new InvalidArgumentError(
      'run folder',
      dir,
      seedFolder
        ? `a suite folder, not one of its seeds' folders: ${dirname(dir)}`
        : `a suite folder written by lab run <suite>, which holds a ${SUITE_RECORD}`,
    );
  }
  try {
    return { dir, record: await readSuiteRecord(dir) };
  } catch (err) {
    throw new InvalidArgumentError(
      'run folder',
      dir,
      `a suite folder with a valid ${SUITE_RECORD} (${(err as Error).message})`,
    );
  }
}

async function join_(argv: string[]): Promise<number> {
  let parsed: { values: { out?: string | undefined; json?: boolean | undefined }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // Node's message names the option: `Unknown option '--x'. To specify…`, `Option '--out <value>' argument missing`.
    const message = (err as Error).message.split('. ')[0]!;
    const option = /'(-[^' ]+)/.exec(message)?.[1] ?? 'option';
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new InvalidArgumentError(option, option, `--out DIR or --json (lab verdicts ${FORM})`);
    throw new InvalidArgumentError(option, argv.join(' '), `lab verdicts ${FORM} (${message})`);
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0)
    throw new InvalidArgumentError(
      'run folder',
      positionals,
      'one or more suite folders, such as runs/pipeline-4seeds-…',
    );
  if (values.out !== undefined && values.out.trim() === '')
    throw new InvalidArgumentError('--out', values.out, 'a directory for verdicts.md, junit.xml and verdicts.json');
  const runs: RunFolder[] = [];
  for (const dir of positionals) runs.push(await readRunFolder(dir));
  const joined = joinRuns(runs);
  if (values.out !== undefined) {
    await mkdir(values.out, { recursive: true });
    await writeFile(join(values.out, 'verdicts.md'), joinMarkdown(joined));
    await writeFile(join(values.out, 'junit.xml'), junitXml(runs.map((r) => ({ record: r.record, dir: r.dir }))));
    await writeFile(join(values.out, 'verdicts.json'), JSON.stringify(joined, null, 1) + '\n');
    process.stderr.write(`lab: wrote verdicts.md, junit.xml and verdicts.json to ${values.out}\n`);
  }
  process.stdout.write(values.json ? JSON.stringify(joined, null, 1) + '\n' : formatJoin(joined));
  return joined.ok ? 0 : 1;
}

/** `lab verdicts <subcommand> …`; a bad argument is said on stderr, naming itself and the expected form, and exits 2. */
export async function verdictsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub !== 'join') throw new InvalidArgumentError('verdicts', sub ?? '', FORM);
    return await join_(rest);
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    process.stderr.write(`lab: ${err.message}\n`);
    return 2;
  }
}
