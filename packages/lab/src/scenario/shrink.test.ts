import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { steadyWorkload } from '@chaos-lab/model';
import { planOf, type RunResult, type ScenarioDefinition } from './scenario.js';
import { ddminSubset, failedCheckers, readPlanFile, withPlanFile, type PlanSubset } from './shrink.js';

const subset = (publishes: number, faults: number) => ({
  scenario: 'fuzz',
  seed: 1,
  publishes: Array.from({ length: publishes }, (_, i) => i),
  faults: Array.from({ length: faults }, (_, i) => i),
});

describe('ddminSubset', () => {
  it('finds the failure-inducing publishes and fault exactly (1-minimal), faults first', async () => {
    const tried: string[] = [];
    // Fails when publishes 17 and 42 are both kept and fault 2 is: a registration, its content, one crash.
    const fails = async (c: PlanSubset) => {
      tried.push(`${c.faults.length}/${c.publishes.length}`);
      return c.publishes.includes(17) && c.publishes.includes(42) && c.faults.includes(2);
    };
    const min = await ddminSubset(subset(130, 5), fails);
    expect(min.publishes).toEqual([17, 42]);
    expect(min.faults).toEqual([2]);
    // The faults are reduced before any publish is dropped.
    const firstPublishCut = tried.findIndex((t) => !t.endsWith('/130'));
    expect(tried.slice(0, firstPublishCut).every((t) => t.endsWith('/130'))).toBe(true);
    expect(tried.length).toBeLessThan(60);
  });

  it('stops when the budget says so, keeping the smallest failing subset found so far', async () => {
    let runs = 0;
    const min = await ddminSubset(
      subset(64, 0),
      async (c) => (runs++, c.publishes.includes(5)),
      () => runs < 3,
    );
    expect(runs).toBe(3);
    expect(min.publishes).toContain(5);
    expect(min.publishes.length).toBeLessThan(64);
    expect(min.publishes.length).toBeGreaterThan(1);
  });

  it('keeps everything when nothing smaller fails', async () => {
    const min = await ddminSubset(subset(4, 1), async (c) => c.publishes.length === 4 && c.faults.length === 1);
    expect(min).toEqual(subset(4, 1));
  });
});

describe('failedCheckers', () => {
  const run = {
    verdicts: [
      {
        checker: 'nothing-lost',
        valid: false,
        errorCount: 2,
        stats: {},
        errors: [{ message: 'content a parked for 21 s' }, { message: 'validation failure x.docx settled no slot' }],
      },
      {
        checker: 'inputs-consumed',
        valid: false,
        errorCount: 1,
        stats: {},
        errors: [{ message: 'stuck at offset 0: unsupported Unicode escape sequence' }],
      },
      { checker: 'environment-held', valid: false, errorCount: 1, stats: {}, errors: [{ message: 'the broker died' }] },
      { checker: 'stores-agree', valid: true, errorCount: 0, stats: {}, errors: [] },
    ],
  } as unknown as RunResult;

  it("names the failing checkers, never the test bed's own verdict", () => {
    expect(failedCheckers(run)).toEqual(['nothing-lost', 'inputs-consumed']);
  });

  it('with a pattern, only checkers with a matching counterexample (any of them, not only the first)', () => {
    expect(failedCheckers(run, /settled no slot/)).toEqual(['nothing-lost']);
    expect(failedCheckers(run, /Unicode|22P05/)).toEqual(['inputs-consumed']);
    expect(failedCheckers(run, /nothing like this/)).toEqual([]);
  });
});

describe('--plan with a seed folder’s plan.json', () => {
  const seedDir = join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    'cli',
    'fixtures',
    'instance-crash-5seeds-20261204T193801',
    'seed-1',
  );
  /** instance-crash as its folder names it, but with a generator that draws something else today. */
  const changed: ScenarioDefinition = {
    name: 'instance-crash',
    description: 'a generator changed since the run',
    plan: (seed, ctx) => ({ ...steadyWorkload(seed + 1000, ctx), seed }),
    faults: () => [],
  };
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const copy = () => {
    const d = mkdtempSync(join(tmpdir(), 'plan-file-'));
    dirs.push(d);
    cpSync(seedDir, d, { recursive: true });
    return d;
  };

  it('runs exactly the saved publishes and faults, whatever the generator draws now', async () => {
    const saved = JSON.parse(readFileSync(join(seedDir, 'plan.json'), 'utf8')) as { publishes: []; faults: [] };
    const file = await readPlanFile(join(seedDir, 'plan.json'), changed, 1);
    expect('saved' in file).toBe(true);
    const replayed = planOf(withPlanFile(changed, file), 1);
    expect(replayed.plan.publishes).toEqual(saved.publishes);
    expect(replayed.faults).toEqual(saved.faults);
    expect(replayed.faults.map((f) => f.spec.kind)).toEqual(['commit-boundary-crash', 'restart']);
    expect(planOf(changed, 1).plan.publishes).not.toEqual(saved.publishes);
  });

  it('refuses a plan of another seed, of another suite, or with a fault kind it does not know', async () => {
    await expect(readPlanFile(join(seedDir, 'plan.json'), changed, 2)).rejects.toThrow(
      /^--plan: expected a plan of seed 2, not 1 \(got ".*plan\.json"\)$/,
    );
    await expect(readPlanFile(join(seedDir, 'plan.json'), { ...changed, name: 'pipeline' }, 1)).rejects.toThrow(
      /^--plan: expected a plan of pipeline, not instance-crash/,
    );
    const d = copy();
    writeFileSync(
      join(d, 'plan.json'),
      JSON.stringify({
        seed: 1,
        publishes: [],
        expected: {},
        faults: [{ at: 0, durationMs: 1, spec: { kind: 'meteor' } }],
      }),
    );
    await expect(readPlanFile(join(d, 'plan.json'), changed, 1)).rejects.toThrow(
      /^--plan: expected a plan subset \(lab shrink's minimal-plan\.json\) or a seed folder's plan\.json \(faults\.0\.spec\.kind: a fault kind \(link-toxic, /,
    );
  });
});
