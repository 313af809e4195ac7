import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logDigest, offsetLines } from './evidence.js';

describe('failure evidence', () => {
  it('lists, per topic, the partitions the seed wrote to or where the group is behind', () => {
    const start = new Map([
      ['t.a/0', 10n],
      ['t.a/1', 5n],
      ['t.b/0', 0n],
    ]);
    const lines = offsetLines(
      [
        { partition: 't.a/0', committed: '13', end: '13' },
        { partition: 't.a/1', committed: '5', end: '5' },
        { partition: 't.b/0', committed: '-1', end: '4' },
      ],
      start,
    );
    expect(lines).toEqual([
      '  t.a (start→committed/end): p0 10→13/13',
      '  t.b (start→committed/end): p0 0→-/4 (behind)',
    ]);
  });

  it('counts each instance warning by message, most frequent first, with its last error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'evidence-'));
    const l = (level: number, msg: string, err?: string) => JSON.stringify({ level, msg, ...(err && { err }) });
    await writeFile(
      join(dir, 'coordinator-1.log'),
      [
        l(40, 'retrying', 'READONLY'),
        l(30, 'fine'),
        l(40, 'retrying', 'BUSY'),
        l(50, 'sweep failed', 'x'),
        'not json',
      ].join('\n'),
    );
    await writeFile(join(dir, 'coordinator-2.log'), l(30, 'fine'));
    expect(await logDigest(dir)).toEqual([
      '  coordinator-1: 2× retrying (last: BUSY); 1× sweep failed (last: x)',
      '  coordinator-2: no warnings',
    ]);
  });
});
