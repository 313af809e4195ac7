/**
 * `lab verdicts join` over suite folders written here by hand (a run.json each, as writeSuiteRecord writes
 * it): shards joined give the unsharded run's table byte for byte; a missing shard, a seed twice and a folder
 * that is not a suite folder are each said, with the exit code the command documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, type TestSuites } from 'junit2json';
import { NOT_RUN_REASONS, suiteRecordSchema, type SeedRecordLine, type SuiteRecord } from '../scenario/suite-record.js';
import { shardSeeds } from '../scenario/shard.js';
import { verdictsCommand } from './verdicts.js';
import { withOutput } from './commands.test-support.js';
import { formatJoinTable, joinMarkdown, joinRuns, markdownCell, type Joined } from '../verdicts/join.js';

const CHECKERS = ['no-duplicate-assignment', 'nothing-lost', 'every-batch-finished'];

/** Seed `n`'s line; seed 3 of pipeline fails nothing-lost, seed 4 stalls. Times differ with `run`. */
function seedLine(suite: string, n: number, run: number): SeedRecordLine {
  const lost = suite === 'pipeline' && n === 3;
  const stalled = suite === 'pipeline' && n === 4;
  return {
    seed: n,
    valid: !lost && !stalled,
    stalled,
    wallMs: 10_000 + 1000 * n + 7 * run,
    dir: `seed-${n}`,
    replayCommand: `npm run lab -- run ${suite} --seed ${n}`,
    voidRuns: 0,
    checkers: CHECKERS.map((checker) =>
      lost && checker === 'nothing-lost'
        ? { checker, valid: false, errorCount: 2, firstError: 'batch s3-b1 | was "lost" <x> & gone' }
        : { checker, valid: true, errorCount: 0 },
    ),
  };
}

function record(suite: string, seeds: number[], shard: SuiteRecord['shard'], run: number): SuiteRecord {
  return suiteRecordSchema.parse({
    format: 1,
    suite,
    variant: null,
    seeds,
    shard,
    wallMs: 60_000 + run,
    sessions: 1,
    results: seeds.map((n) => seedLine(suite, n, run)),
  });
}

let root: string;
const dirs: Record<string, string> = {};

async function suiteFolder(name: string, r: SuiteRecord): Promise<string> {
  const dir = join(root, name);
  for (const res of r.results) {
    await mkdir(join(dir, res.dir), { recursive: true });
    await writeFile(join(dir, res.dir, 'verdicts.json'), '[]\n');
  }
  await writeFile(join(dir, 'run.json'), JSON.stringify(r, null, 1) + '\n');
  return dir;
}

const lab = (...argv: string[]) => withOutput(() => verdictsCommand(argv));

/** The table: the output up to the last line of its box. */
const tableOf = (out: string) => out.slice(0, out.lastIndexOf('┘') + 1);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lab-verdicts-'));
  const all = [1, 2, 3, 4, 5, 6];
  dirs.whole = await suiteFolder('pipeline-6seeds-20260101T000000', record('pipeline', all, null, 1));
  for (const index of [1, 2, 3]) {
    const shard = { index, count: 3, of: all };
    dirs[`shard${index}`] = await suiteFolder(
      `pipeline-6seeds-shard${index}of3-20260102T00000${index}`,
      record('pipeline', shardSeeds(all, shard), shard, 10 + index),
    );
  }
  dirs.fuzz = await suiteFolder('fuzz-2seeds-20260101T000000', record('fuzz', [2, 1], null, 5));
  dirs.fuzzValid = dirs.fuzz;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('lab verdicts join', () => {
  it("prints the shards' table byte for byte as the unsharded run's, and exits 1 for an invalid seed", async () => {
    const whole = await lab('join', dirs.whole!);
    const shards = await lab('join', dirs.shard3!, dirs.shard1!, dirs.shard2!);
    expect(whole.code).toBe(1);
    expect(shards.code).toBe(1);
    expect(tableOf(shards.out)).toBe(tableOf(whole.out));
    expect(tableOf(whole.out)).toBe(
      [
        '┌──────────┬─────────┬──────┬─────────┬─────────────────┐',
        '│ suite    │ variant │ seed │ verdict │ failed checkers │',
        '├──────────┼─────────┼──────┼─────────┼─────────────────┤',
        '│ pipeline │ -       │ 1    │ VALID   │ -               │',
        '├──────────┼─────────┼──────┼─────────┼─────────────────┤',
        '│ pipeline │ -       │ 2    │ VALID   │ -               │',
        '├──────────┼─────────┼──────┼─────────┼─────────────────┤',
        '│ pipeline │ -       │ 3    │ INVALID │ nothing-lost    │',
        '├──────────┼─────────┼──────┼─────────┼─────────────────┤',
        '│ pipeline │ -       │ 4    │ INVALID │ stalled         │',
        '├──────────┼─────────┼──────┼─────────┼─────────────────┤',
        '│ pipeline │ -       │ 5    │ VALID   │ -               │',
        '├──────────┼─────────┼──────┼─────────┼─────────────────┤',
        '│ pipeline │ -       │ 6    │ VALID   │ -               │',
        '└──────────┴─────────┴──────┴─────────┴─────────────────┘',
      ].join('\n'),
    );
    // Below the table, one summary line per suite: there the runs and the times differ.
    expect(whole.out.slice(tableOf(whole.out).length)).toBe(
      '\npipeline: 4/6 seeds valid; 1 run, unsharded; seed time total 81.0 s\n',
    );
    expect(shards.out.slice(tableOf(shards.out).length)).toBe(
      '\npipeline: 4/6 seeds valid; 3 runs, 3 shards of 3; seed time total 81.5 s\n',
    );
  });

  it('orders rows by suite, then seed, whatever the order of the folders and of the seeds in them', async () => {
    const r = await lab('join', dirs.shard2!, dirs.fuzz!, dirs.shard1!, dirs.shard3!, '--json');
    const j = JSON.parse(r.out) as Joined;
    expect(j.seeds.map((s) => `${s.suite} ${s.seed}`)).toEqual([
      'fuzz 1',
      'fuzz 2',
      ...[1, 2, 3, 4, 5, 6].map((n) => `pipeline ${n}`),
    ]);
    expect(j.suites.map((s) => [s.suite, s.valid, s.seeds, s.sharding])).toEqual([
      ['fuzz', 2, 2, '1 run, unsharded'],
      ['pipeline', 4, 6, '3 runs, 3 shards of 3'],
    ]);
    expect(j.problems).toEqual([]);
    expect(j.ok).toBe(false);
  });

  it('exits 0 when every seed of every run is valid', async () => {
    const r = await lab('join', dirs.fuzz!);
    expect(r.code).toBe(0);
    expect(r.out).toContain('fuzz: 2/2 seeds valid; 1 run, unsharded; seed time total 23.1 s');
  });

  it('says which shard is missing and exits 1, even when every seed it has is valid', async () => {
    const r = await lab('join', dirs.shard1!, dirs.shard3!);
    expect(r.code).toBe(1);
    expect(r.out).toContain('pipeline: 2/4 seeds valid (2 of 6 missing); 2 runs, 2 shards of 3 (shard 2 missing);');
    expect(r.out).toContain('missing-shard: pipeline: shard 2 of 3 is missing (its seeds 2, 5, of 6 in all)');
    const valid = joinRuns([{ dir: 'a', record: { ...record('fuzz', [1], { index: 1, count: 2, of: [1, 2] }, 1) } }]);
    expect(valid.seeds.every((s) => s.valid)).toBe(true);
    expect(valid.ok).toBe(false);
    expect(valid.problems.map((p) => p.kind)).toEqual(['missing-shard']);
  });

  it('names a seed that appears twice and both its folders', async () => {
    const r = await lab('join', dirs.whole!, dirs.shard1!);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`duplicate-seed: pipeline: seed 1 appears twice: in ${dirs.whole} and in ${dirs.shard1}`);
    expect(r.out).toContain(`duplicate-seed: pipeline: seed 4 appears twice: in ${dirs.whole} and in ${dirs.shard1}`);
    // Each seed is one row all the same.
    expect(tableOf(r.out)).toBe(tableOf((await lab('join', dirs.whole!)).out));
  });

  it('says which seeds a run was asked for and never ran', () => {
    const stopped = { ...record('fuzz', [1], null, 1), seeds: [1, 2, 3] };
    const j = joinRuns([{ dir: 'runs/fuzz-3seeds', record: stopped }]);
    expect(j.problems.map((p) => p.message)).toEqual([
      'fuzz: seeds 2, 3 of runs/fuzz-3seeds never ran (the run stopped early)',
    ]);
    expect(j.suites[0]).toMatchObject({ seeds: 1, valid: 1, missingSeeds: 2 });
  });

  it('shows the seeds of a run that could not start as NOT RUN rows with why, and a seed run again elsewhere not', () => {
    const notStarted = suiteRecordSchema.parse({
      ...record('fuzz', [], null, 1),
      seeds: [1, 2, 3],
      started: false,
      error: { name: 'ProviderStartError', message: 'postgres did not start: exited\nlast log lines: x' },
      notRun: [1, 2, 3].map((seed) => ({
        seed,
        reason: NOT_RUN_REASONS.notStarted,
        replayCommand: `npm run lab -- run fuzz --seed ${seed}`,
      })),
    });
    const j = joinRuns([
      { dir: 'runs/fuzz-3seeds', record: notStarted },
      { dir: 'runs/fuzz-seed2', record: record('fuzz', [2], null, 2) },
    ]);
    expect(j.ok).toBe(false);
    expect(j.notRun.map((n) => n.seed)).toEqual([1, 3]);
    expect(j.problems.map((p) => p.message)).toEqual([
      'fuzz: seeds 1, 3 of runs/fuzz-3seeds never ran (the suite could not start: ProviderStartError: postgres did not start: exited)',
    ]);
    expect(formatJoinTable(j)).toBe(
      [
        '┌───────┬─────────┬──────┬─────────┬───────────────────────────────────────────────┐',
        '│ suite │ variant │ seed │ verdict │ failed checkers                               │',
        '├───────┼─────────┼──────┼─────────┼───────────────────────────────────────────────┤',
        '│ fuzz  │ -       │ 1    │ NOT RUN │ the suite could not start: ProviderStartError │',
        '├───────┼─────────┼──────┼─────────┼───────────────────────────────────────────────┤',
        '│ fuzz  │ -       │ 2    │ VALID   │ -                                             │',
        '├───────┼─────────┼──────┼─────────┼───────────────────────────────────────────────┤',
        '│ fuzz  │ -       │ 3    │ NOT RUN │ the suite could not start: ProviderStartError │',
        '└───────┴─────────┴──────┴─────────┴───────────────────────────────────────────────┘',
      ].join('\n'),
    );
    const md = joinMarkdown(j);
    expect(md).toContain('### Seeds not run (2)');
    expect(md).toContain(
      '| fuzz | - | 1 | the suite could not start: ProviderStartError: postgres did not start: exited | `npm run lab -- run fuzz --seed 1` |',
    );
  });

  it('keeps runs of a variant apart from plain runs of its suite', () => {
    const plain = record('fuzz', [1], null, 1);
    const variant = { ...record('fuzz', [1], null, 2), variant: 'check-then-act' };
    const j = joinRuns([
      { dir: 'b', record: variant },
      { dir: 'a', record: plain },
    ]);
    expect(j.problems).toEqual([]);
    expect(formatJoinTable(j)).toContain('│ fuzz  │ check-then-act │ 1    │ VALID   │ -               │');
    expect(j.suites.map((s) => s.variant)).toEqual([null, 'check-then-act']);
  });

  it.each([
    ['a folder that does not exist', () => join(root, 'nope'), () => 'an existing suite folder'],
    [
      'a folder without run.json',
      () => root,
      () => 'a suite folder written by lab run <suite>, which holds a run.json',
    ],
    [
      "a seed's folder",
      () => join(dirs.whole!, 'seed-1'),
      () => `a suite folder, not one of its seeds' folders: ${dirs.whole}`,
    ],
  ])('refuses %s, naming it, and exits 2', async (_what, dir, expected) => {
    const r = await lab('join', dirs.fuzz!, dir());
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`lab: run folder: expected ${expected()}`);
    expect(r.err).toContain(`(got ${JSON.stringify(dir())})`);
  });

  it('refuses a run.json that does not hold a suite record, naming the folder and the field', async () => {
    const bad = join(root, 'bad-run');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'run.json'), JSON.stringify({ ...record('fuzz', [1], null, 1), format: 2 }));
    const r = await lab('join', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^lab: run folder: expected a suite folder with a valid run\.json \(.*run\.json: format: /);
    expect(r.err).toContain(`(got ${JSON.stringify(bad)})`);
  });

  it.each([
    [['join'], 'lab: run folder: expected one or more suite folders'],
    [['list'], 'lab: verdicts: expected join <run folder>... [--out DIR] [--json] (got "list")'],
    [[], 'lab: verdicts: expected join <run folder>'],
    [['join', 'x', '--frob'], 'lab: --frob: expected --out DIR or --json'],
    [
      ['join', 'x', '--out'],
      "lab: --out: expected lab verdicts join <run folder>... [--out DIR] [--json] (Option '--out <value>' argument missing)",
    ],
    [
      ['join', 'x', '--json=1'],
      "lab: --json: expected lab verdicts join <run folder>... [--out DIR] [--json] (Option '--json' does not take an argument)",
    ],
  ])('refuses %j with exit 2, naming the argument and the expected form', async (argv, expected) => {
    const r = await lab(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(expected);
  });

  it('--out writes verdicts.md (counts and failing seeds only), one junit.xml of every run, and verdicts.json', async () => {
    const out = join(root, 'out');
    const r = await lab('join', dirs.shard1!, dirs.shard2!, dirs.shard3!, dirs.fuzz!, '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`lab: wrote verdicts.md, junit.xml and verdicts.json to ${out}\n`);
    const md = await readFile(join(out, 'verdicts.md'), 'utf8');
    expect(md).toContain('## Chaos verdicts: NOT all valid');
    expect(md).toContain('| pipeline | - | 4/6 | 3 runs, 3 shards of 3 | 81.5 s |');
    expect(md).toContain('| fuzz | - | 2/2 | 1 run, unsharded | 23.1 s |');
    expect(md).toContain('### Failing seeds (2)');
    expect(md).toContain(
      `| pipeline | - | 3 | nothing-lost | ${markdownCell('nothing-lost: batch s3-b1 | was "lost" <x> & gone')} | \`npm run lab -- run pipeline --seed 3\` |`,
    );
    expect(md).toContain('| pipeline | - | 4 | stalled | stalled | `npm run lab -- run pipeline --seed 4` |');
    expect(md.split('\n').filter((l) => l.startsWith('| pipeline'))).toHaveLength(3); // counts, seeds 3 and 4
    const json = JSON.parse(await readFile(join(out, 'verdicts.json'), 'utf8')) as Joined;
    expect(json).toEqual(
      JSON.parse((await lab('join', dirs.shard1!, dirs.shard2!, dirs.shard3!, dirs.fuzz!, '--json')).out),
    );
    const junit = (await parse(await readFile(join(out, 'junit.xml'), 'utf8'))) as TestSuites;
    expect(junit.testsuite?.map((s) => [s.name, s.properties?.find((p) => p.name === 'shard')?.value ?? '-'])).toEqual([
      ['pipeline', '1/3'],
      ['pipeline', '2/3'],
      ['pipeline', '3/3'],
      ['fuzz', '-'],
    ]);
    // 8 seeds × (3 checkers + finished-in-time); failing: seed 3's nothing-lost and seed 4's stall.
    expect(junit).toMatchObject({ tests: 32, failures: 2, errors: 0 });
  });

  it('escapes a Markdown cell so that it renders as its text, on one line', () => {
    expect(markdownCell('a|b\n<i>*c*</i> `d` & e (1)')).toBe('a\\|b \\<i\\>\\*c\\*\\</i\\> \\`d\\` \\& e (1)');
    expect(markdownCell('x'.repeat(300))).toHaveLength(200);
    expect(joinMarkdown(joinRuns([{ dir: 'a', record: record('fuzz', [1], null, 1) }]))).not.toContain('Failing');
  });
});
