import { describe, expect, it } from 'vitest';
import { formatVerdictTable, truncate } from './format.js';
import type { Verdict } from './types.js';

const long = `content t-17 of batch b-3 is in slots e-2 and e-5 ${'and then some more words '.repeat(10)}`;
const verdicts: Verdict[] = [
  {
    checker: 'no-duplicate-assignment',
    valid: false,
    errorCount: 3,
    firstError: { message: long },
    errors: [{ message: long }],
    stats: {},
  },
  { checker: 'stores-agree', valid: true, errorCount: 0, errors: [], stats: { redisBatches: 2 } },
  {
    checker: 'boom',
    valid: 'unknown',
    errorCount: 0,
    firstError: { message: 'checker threw: Error: x\n    at line' },
    errors: [],
    stats: {},
  },
];

describe('formatVerdictTable', () => {
  it('renders one plain-text row per verdict with a truncated first counterexample', () => {
    const out = formatVerdictTable(verdicts);
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/\u001b\[/);
    const lines = out.split('\n');
    expect(lines[1]).toMatch(/│ checker\s+│ verdict │ errors │ first counterexample\s+│/);
    const row = (name: string) => lines.find((l) => l.includes(name)) ?? '';
    expect(row('no-duplicate-assignment')).toMatch(
      /│ FAIL\s+│ 3\s+│ content t-17 of batch b-3 is in slots e-2 and e-5 and then/,
    );
    expect(row('no-duplicate-assignment')).toContain('…');
    expect(row('stores-agree')).toMatch(/│ PASS\s+│ 0\s+│\s+│$/);
    expect(row('boom')).toMatch(/│ UNKNOWN │ 0\s+│ checker threw: Error: x at line\s+│/);
  });

  it('truncates to at most 100 characters and flattens whitespace', () => {
    expect(truncate(long)).toHaveLength(100);
    expect(truncate(long).endsWith('…')).toBe(true);
    expect(truncate('a\n  b')).toBe('a b');
  });
});
