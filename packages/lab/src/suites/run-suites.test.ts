import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSuiteTable, runSuites, suiteConcurrencyFromEnv, summaryLine } from './run-suites.js';

/** A stand-in for `lab run <suite>`: a real process that prints and exits as the suite's name says. */
const script = `
const [, , cmd, suite, ...args] = process.argv;
if (cmd !== 'run') process.exit(9);
const seeds = args.join(' ');
setTimeout(() => {
  console.log(suite + ' output with ' + seeds);
  if (suite === 'slow') return setTimeout(() => { console.log('slow: 1/1 seeds valid in 0.3 s'); process.exit(0); }, 300);
  if (suite === 'bad') { console.error('bad: 0/2 seeds valid in 0.1 s'); process.exit(1); }
  console.log(suite + ': 2/2 seeds valid in 0.1 s');
}, 50);
`;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function cli(): string {
  dir = mkdtempSync(join(tmpdir(), 'run-suites-'));
  const file = join(dir, 'cli.mjs');
  writeFileSync(file, script);
  return file;
}

describe('runSuites', () => {
  it('runs every suite to its end though one fails, each output whole, and one table', async () => {
    let out = '';
    const lines: string[] = [];
    const outcomes = await runSuites(['slow', 'bad', 'good'], {
      cli: cli(),
      args: ['--seeds', '1..2'],
      concurrency: 2,
      out: (t) => (out += t),
      progress: (l) => lines.push(l),
    });
    expect(outcomes.map((o) => [o.suite, o.exit])).toEqual([
      ['slow', 0],
      ['bad', 1],
      ['good', 0],
    ]);
    expect(outcomes[1]?.summary).toBe('bad: 0/2 seeds valid in 0.1 s');
    expect(out).toMatch(
      /── bad \(failed: exit 1, \d+ s\) ──\nbad output with --seeds 1\.\.2\nbad: 0\/2 seeds valid in 0\.1 s\n/,
    );
    expect(lines.filter((l) => / started /.test(l))).toHaveLength(3);
    expect(lines.at(-1)).toMatch(/^lab: \w+ passed in \d+ s; 3 of 3 suites done, 1 failed, /);
    const table = formatSuiteTable(outcomes);
    expect(table).toMatch(/bad\s+│ FAILED \(exit 1\)\s+│ \d+\s+│ 0\/2 seeds valid in 0\.1 s/);
    expect(table.split('\n').at(-1)).toBe('2 of 3 suites passed, 1 failed');
  });

  it('reads the summary line and the concurrency, naming a bad value', () => {
    expect(summaryLine('x\nfuzz: 3/3 seeds valid in 9.0 s (1 session)\nmore', 'fuzz')).toBe(
      'fuzz: 3/3 seeds valid in 9.0 s (1 session)',
    );
    expect(summaryLine('pipeline: published 3', 'pipeline')).toBeUndefined();
    expect(suiteConcurrencyFromEnv({})).toBe(4);
    expect(suiteConcurrencyFromEnv({ LAB_SUITE_CONCURRENCY: '2' })).toBe(2);
    expect(() => suiteConcurrencyFromEnv({ LAB_SUITE_CONCURRENCY: 'many' })).toThrow(
      'LAB_SUITE_CONCURRENCY: expected an integer from 1 to 16 (got "many")',
    );
  });
});
