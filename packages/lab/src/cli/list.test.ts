/**
 * `lab list`: every suite, fault kind, checker and variant, one line each with what it is; `--json` for scripts.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { defaultCheckers } from '@chaos-lab/model';
import { FAULT_KINDS } from '../nemesis/index.js';
import { ENVIRONMENT_HELD } from '../scenario/scenario.js';
import { formatList, listCommand, listEntries, type ListEntry } from './list.js';
import { workspaceScenarioNames } from './workspace.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli.js');

const names = (entries: readonly ListEntry[], kind: ListEntry['kind']) =>
  entries.filter((e) => e.kind === kind).map((e) => e.name);

describe('lab list', () => {
  it('lists every suite, fault kind, checker and known-bad variant, each with a description', async () => {
    const entries = await listEntries();
    expect(names(entries, 'suite')).toEqual(workspaceScenarioNames());
    expect(names(entries, 'suite')).toContain('pipeline');
    expect(names(entries, 'fault')).toEqual(FAULT_KINDS);
    expect(names(entries, 'checker')).toEqual([...defaultCheckers.map((c) => c.id), ENVIRONMENT_HELD]);
    expect(names(entries, 'variant')).toEqual(
      expect.arrayContaining(['check-then-act', 'watch-multi-exec', 'early-offset-commit']),
    );
    for (const e of entries) expect(e.description, `${e.kind} ${e.name}`).toMatch(/^\S.{10,}$/);
    expect(entries.find((e) => e.name === 'kill')?.description).toMatch(/^\[process\] SIGKILL/);
  }, 30_000);

  it('prints one line an entry, names in a column, a heading per kind only when several', () => {
    const entries: ListEntry[] = [
      { kind: 'fault', name: 'kill', description: '[process] SIGKILL' },
      { kind: 'fault', name: 'redis-busy', description: '[store] BUSY' },
      { kind: 'checker', name: 'nothing-lost', description: 'every input has a fate' },
    ];
    expect(formatList(entries)).toBe(
      'faults:\n  kill        [process] SIGKILL\n  redis-busy  [store] BUSY\n\ncheckers:\n  nothing-lost  every input has a fate\n',
    );
    expect(formatList(entries.slice(0, 2))).toBe('kill        [process] SIGKILL\nredis-busy  [store] BUSY\n');
  });

  it('names a kind it does not know, with the kinds it knows', async () => {
    await expect(listCommand(['bugs'])).rejects.toThrow(
      'lab list: expected one of suites, faults, checkers, variants (got "bugs")',
    );
  });

  it('prints [{ kind, name, description }] with --json (the built CLI)', () => {
    const r = spawnSync(process.execPath, [cli, 'list', 'checkers', 'faults', '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const listed = JSON.parse(r.stdout) as unknown[];
    expect(listed).toHaveLength(FAULT_KINDS.length + defaultCheckers.length + 1);
    for (const e of listed) {
      expect(Object.keys(e as object)).toEqual(['kind', 'name', 'description']);
      expect(e).toMatchObject({ kind: expect.stringMatching(/^(fault|checker)$/), name: expect.any(String) });
    }
    // The order of the sections, whatever the order asked.
    expect((listed[0] as ListEntry).kind).toBe('fault');
  });

  it('writes the plain list to stdout', async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    try {
      expect(await listCommand(['faults'])).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    expect(out.trimEnd().split('\n')).toHaveLength(FAULT_KINDS.length);
    expect(out).toMatch(/^link-toxic {13}\[link\] /);
  });
});
