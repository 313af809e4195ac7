import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, type TestCase, type TestSuite, type TestSuites } from 'junit2json';
import { NOT_RUN_REASONS, suiteRecordSchema, type SeedRecordLine, type SuiteRecord } from '../scenario/suite-record.js';
import { FINISHED_IN_TIME, NOT_RUN, junitXml, writeSuiteJunit, xmlSafe } from './junit.js';

/** Every character a counterexample may quote that XML makes trouble with. */
const NASTY = `nul\u0000 soh\u0001 esc\u001b fffe\uFFFE lone\uD800 | ]]> "dq" 'sq' <tag> & &amp; &#0; tab\tcr\rlf\n ok😀`;
const NASTY_AS_WRITTEN = `nul\uFFFD soh\uFFFD esc\uFFFD fffe\uFFFD lone\uFFFD | ]]> "dq" 'sq' <tag> & &amp; &#0; tab\tcr\rlf\n ok😀`;

const CHECKERS = ['no-duplicate-assignment', 'nothing-lost', 'inputs-consumed'];

function seed(n: number, o: Partial<SeedRecordLine> = {}): SeedRecordLine {
  return {
    seed: n,
    valid: true,
    stalled: false,
    wallMs: 20_000,
    dir: `seed-${n}`,
    replayCommand: `npm run lab -- run pipeline --seed ${n} --variant check-then-act`,
    voidRuns: 0,
    checkers: CHECKERS.map((checker) => ({ checker, valid: true, errorCount: 0 })),
    ...o,
  };
}

/** Seeds 1 valid, 2 invalid (nasty first counterexample), 3 stalled, 4 with an unknown checker, 5 never ran. */
const record: SuiteRecord = suiteRecordSchema.parse({
  format: 1,
  suite: 'pipeline',
  variant: 'check-then-act',
  seeds: [1, 2, 3, 4, 5],
  shard: { index: 1, count: 2, of: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
  wallMs: 123_456,
  sessions: 3,
  results: [
    seed(1),
    seed(2, {
      valid: false,
      voidRuns: 1,
      checkers: [
        { checker: 'no-duplicate-assignment', valid: false, errorCount: 3, firstError: NASTY },
        { checker: 'nothing-lost', valid: false, errorCount: 1, firstError: 'batch s2-b1 was registered but lost' },
        { checker: 'inputs-consumed', valid: true, errorCount: 0 },
      ],
    }),
    seed(3, { valid: false, stalled: true }),
    seed(4, {
      valid: false,
      checkers: [
        { checker: 'no-duplicate-assignment', valid: true, errorCount: 0 },
        { checker: 'nothing-lost', valid: true, errorCount: 0 },
        { checker: 'inputs-consumed', valid: 'unknown', errorCount: 0, firstError: 'consumer group unreadable: <x>' },
      ],
    }),
  ],
});

async function parsed(xml: string): Promise<TestSuite[]> {
  const out = (await parse(xml)) as TestSuites;
  return out.testsuite ?? [];
}

const cases = (ts: TestSuite, seedN: number): TestCase[] =>
  (ts.testcase ?? []).filter((c) => c.classname === `pipeline.check-then-act.seed-${seedN}`);
const byName = (ts: TestSuite, seedN: number, name: string): TestCase => {
  const found = cases(ts, seedN).filter((c) => c.name === name);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('junitXml', () => {
  it('holds no character XML 1.0 cannot carry, and parses with a JUnit parser', async () => {
    const xml = junitXml([{ record, dir: 'runs/pipeline-x' }]);
    expect(xml).not.toMatch(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    const [ts, ...more] = await parsed(xml);
    expect(more).toEqual([]);
    expect(ts!.name).toBe('pipeline');
    expect(ts!.time).toBe(123.456);
    expect(ts!.properties).toEqual([
      { name: 'suite', value: 'pipeline' },
      { name: 'variant', value: 'check-then-act' },
      { name: 'shard', value: '1/2' },
      { name: 'seeds', value: '1,2,3,4,5' },
      { name: 'folder', value: 'runs/pipeline-x' },
    ]);
  });

  it('has one testcase per seed × checker, one finished-in-time per seed, and not-run for a seed never run', async () => {
    const [ts] = await parsed(junitXml([{ record }]));
    for (const n of [1, 2, 3, 4]) expect(cases(ts!, n).map((c) => c.name)).toEqual([...CHECKERS, FINISHED_IN_TIME]);
    expect(cases(ts!, 5).map((c) => c.name)).toEqual([NOT_RUN]);
    expect(byName(ts!, 5, NOT_RUN).skipped).toHaveLength(1);
    // 4 seeds × (3 checkers + finished-in-time) + 1 not run; failures: seed 2's two checkers and seed 3's stall;
    // errors: seed 4's unknown checker.
    expect(ts).toMatchObject({ tests: 17, failures: 3, errors: 1, skipped: 1 });
    const failing = (ts!.testcase ?? []).filter((c) => c.failure).map((c) => `${c.classname} ${c.name}`);
    expect(failing).toEqual([
      'pipeline.check-then-act.seed-2 no-duplicate-assignment',
      'pipeline.check-then-act.seed-2 nothing-lost',
      `pipeline.check-then-act.seed-3 ${FINISHED_IN_TIME}`,
    ]);
  });

  it("puts a failing checker's first counterexample in the failure's message, every awkward character intact or replaced", async () => {
    const [ts] = await parsed(junitXml([{ record, dir: 'runs/p' }]));
    const f = byName(ts!, 2, 'no-duplicate-assignment').failure!;
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toBe(NASTY_AS_WRITTEN);
    expect(f[0]!.message).toBe(xmlSafe(NASTY));
    expect(f[0]!.type).toBe('invalid');
    // The body is CDATA, where XML reads a carriage return as a line feed (this parser keeps it): line ends
    // compared alike.
    expect(f[0]!.inner?.replace(/\r\n?/g, '\n')).toBe(
      `no-duplicate-assignment: 3 counterexamples; the first:\n${NASTY_AS_WRITTEN.replace('\r', '\n')}\nall: runs/p/seed-2/verdicts.json`,
    );
    expect(byName(ts!, 2, 'nothing-lost').failure![0]!.message).toBe('batch s2-b1 was registered but lost');
    expect(byName(ts!, 2, 'inputs-consumed').failure).toBeUndefined();
  });

  it('fails a stalled seed on finished-in-time, and an unknown verdict is an error', async () => {
    const [ts] = await parsed(junitXml([{ record }]));
    expect(byName(ts!, 3, FINISHED_IN_TIME).failure![0]).toMatchObject({ type: 'stalled' });
    expect(byName(ts!, 3, FINISHED_IN_TIME).failure![0]!.message).toMatch(/^stalled: /);
    for (const c of CHECKERS) expect(byName(ts!, 3, c).failure).toBeUndefined();
    const unknown = byName(ts!, 4, 'inputs-consumed');
    expect(unknown.failure).toBeUndefined();
    expect(unknown.error![0]).toMatchObject({ message: 'consumer group unreadable: <x>', type: 'unknown' });
    expect(byName(ts!, 4, FINISHED_IN_TIME).failure).toBeUndefined();
  });

  it('fails an invalid seed whose every checker held on finished-in-time: it ran out of time', async () => {
    const late = { ...record, results: [seed(1, { valid: false })], seeds: [1] };
    const [ts] = await parsed(junitXml([{ record: late }]));
    expect(byName(ts!, 1, FINISHED_IN_TIME).failure![0]).toMatchObject({ type: 'timed out' });
  });

  it('fails finished-in-time of a seed recorded as timed out, beside its failing checkers; not of one recorded in time', async () => {
    const failing = [{ checker: 'nothing-lost', valid: false as const, errorCount: 1, firstError: 'lost' }];
    const late = {
      ...record,
      results: [
        seed(1, { valid: false, timedOut: true, checkers: failing }),
        seed(2, { valid: false, timedOut: false, checkers: failing }),
      ],
      seeds: [1, 2],
    };
    const [ts] = await parsed(junitXml([{ record: late }]));
    expect(byName(ts!, 1, FINISHED_IN_TIME).failure![0]).toMatchObject({ type: 'timed out' });
    expect(byName(ts!, 1, 'nothing-lost').failure![0]).toMatchObject({ message: 'lost' });
    expect(byName(ts!, 2, FINISHED_IN_TIME).failure).toBeUndefined();
  });

  it('makes each seed of a suite that could not start an <error> not-run testcase: the error, its class, the replay', async () => {
    const notStarted = suiteRecordSchema.parse({
      ...record,
      seeds: [4, 5],
      results: [],
      started: false,
      error: { name: 'ProviderStartError', message: 'redis did not start: <port> & more\nlast log lines: x' },
      notRun: [4, 5].map((n) => ({ seed: n, reason: NOT_RUN_REASONS.notStarted, replayCommand: `replay ${n}` })),
    });
    const [ts] = await parsed(junitXml([{ record: notStarted, dir: 'runs/p' }]));
    expect(ts).toMatchObject({ tests: 2, errors: 2, failures: 0, skipped: 0 });
    for (const n of [4, 5]) {
      const c = byName(ts!, n, NOT_RUN);
      expect(c.skipped).toBeUndefined();
      expect(c.error![0]).toMatchObject({
        message: 'redis did not start: <port> & more\nlast log lines: x',
        type: 'ProviderStartError',
      });
      expect(c['system-out']).toEqual([
        `replay: replay ${n}\nnot run: the suite could not start\nsuite folder: runs/p`,
      ]);
    }
  });

  it('keeps the seeds that ran when an error stopped the run, and makes the rest <error> not-run testcases', async () => {
    const stopped = suiteRecordSchema.parse({
      ...record,
      seeds: [1, 5],
      results: [seed(1)],
      started: true,
      error: { name: 'SessionNotReadyError', message: 'the group never settled' },
      notRun: [{ seed: 5, reason: NOT_RUN_REASONS.error }],
    });
    const [ts] = await parsed(junitXml([{ record: stopped }]));
    expect(cases(ts!, 1).map((c) => c.name)).toEqual([...CHECKERS, FINISHED_IN_TIME]);
    expect(byName(ts!, 5, NOT_RUN).error![0]).toMatchObject({
      message: 'the group never settled',
      type: 'SessionNotReadyError',
    });
    expect(byName(ts!, 5, NOT_RUN)['system-out']).toEqual(['not run: an error stopped the run']);
    expect(ts).toMatchObject({ tests: 5, errors: 1, failures: 0, skipped: 0 });
  });

  it("writes the seed's replay command and folder to every testcase's system-out", async () => {
    const [ts] = await parsed(junitXml([{ record, dir: 'runs/pipeline-x' }]));
    for (const c of cases(ts!, 1))
      expect(c['system-out']).toEqual([
        'replay: npm run lab -- run pipeline --seed 1 --variant check-then-act\nseed folder: runs/pipeline-x/seed-1',
      ]);
    expect(byName(ts!, 2, 'nothing-lost')['system-out']![0]).toContain(
      'void runs before this one (the environment broke): 1',
    );
  });

  it("splits a seed's wall time evenly over its testcases", async () => {
    const [ts] = await parsed(junitXml([{ record }]));
    expect(cases(ts!, 1).map((c) => c.time)).toEqual([5, 5, 5, 5]);
  });

  it('names a plain run without a variant, and keeps suites apart in one file', async () => {
    const plain: SuiteRecord = { ...record, variant: null, shard: null, suite: 'fuzz', results: [seed(7)], seeds: [7] };
    const [a, b] = await parsed(junitXml([{ record: plain }, { record }]));
    expect(a!.name).toBe('fuzz');
    expect(a!.properties?.map((p) => p.name)).toEqual(['suite', 'seeds']);
    expect(new Set(a!.testcase?.map((c) => c.classname))).toEqual(new Set(['fuzz.seed-7']));
    expect(b!.name).toBe('pipeline');
  });

  it('is written as junit.xml in the suite folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-junit-'));
    try {
      const file = await writeSuiteJunit(dir, record);
      expect(file).toBe(join(dir, 'junit.xml'));
      expect(await readFile(file, 'utf8')).toBe(junitXml([{ record, dir }]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
