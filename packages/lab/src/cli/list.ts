/**
 * `lab list [suites|faults|checkers|variants] [--json]`: what the lab can run and judge, one line each — the
 * suites (their description), the fault kinds (family and what each does), the checkers (what each checks)
 * and the coordinator's known-bad variants (their seed bug). `--json` prints `[{ kind, name, description }]`.
 */
import { defaultCheckers } from '@chaos-lab/model';
import { faultKindDescriptions } from '../nemesis/index.js';
import { ENVIRONMENT_HELD } from '../scenario/scenario.js';
import { InvalidArgumentError } from '../errors.js';
import { parseOptions } from './args.js';
import { loadScenario, variantList, workspaceScenarioNames } from './workspace.js';

export type ListKind = 'suite' | 'fault' | 'checker' | 'variant';

export interface ListEntry {
  readonly kind: ListKind;
  readonly name: string;
  readonly description: string;
}

/** The sections of `lab list`, in order: the argument that asks for one, and its kind. */
const SECTIONS: readonly { readonly arg: string; readonly kind: ListKind }[] = [
  { arg: 'suites', kind: 'suite' },
  { arg: 'faults', kind: 'fault' },
  { arg: 'checkers', kind: 'checker' },
  { arg: 'variants', kind: 'variant' },
];

/** The row the lab adds to the checkers' verdicts when its own test bed broke (judge.ts). */
const ENVIRONMENT_HELD_DESCRIPTION =
  "the lab's own row: no server of the test bed died under the seed (a failing row voids the run, not the coordinator)";

async function entriesOf(kind: ListKind): Promise<ListEntry[]> {
  switch (kind) {
    case 'suite':
      return Promise.all(
        workspaceScenarioNames().map(async (name) => ({
          kind,
          name,
          description: await loadScenario(name).then(
            (s) => s.description,
            (err: Error) => `(cannot be loaded: ${err.message})`,
          ),
        })),
      );
    case 'fault':
      return faultKindDescriptions().map((f) => ({
        kind,
        name: f.kind,
        description: `[${f.family}] ${f.description}`,
      }));
    case 'checker':
      return [
        ...defaultCheckers.map((c) => ({ kind, name: c.id, description: c.description })),
        { kind, name: ENVIRONMENT_HELD, description: ENVIRONMENT_HELD_DESCRIPTION },
      ];
    case 'variant':
      return variantList().map((v) => ({ kind, name: v.name, description: v.description }));
  }
}

/** The entries of the kinds asked for (every kind when none), in the order of {@link SECTIONS}. */
export async function listEntries(kinds: readonly ListKind[] = SECTIONS.map((s) => s.kind)): Promise<ListEntry[]> {
  const lists = await Promise.all(SECTIONS.filter((s) => kinds.includes(s.kind)).map((s) => entriesOf(s.kind)));
  return lists.flat();
}

/** One line an entry, names in a column; under a heading per kind when there are several kinds. */
export function formatList(entries: readonly ListEntry[]): string {
  const kinds = SECTIONS.filter((s) => entries.some((e) => e.kind === s.kind));
  const headed = kinds.length > 1;
  const blocks = kinds.map((s) => {
    const rows = entries.filter((e) => e.kind === s.kind);
    const width = Math.max(...rows.map((e) => e.name.length)) + 2;
    const lines = rows.map((e) => `${headed ? '  ' : ''}${e.name.padEnd(width)}${e.description}`.trimEnd());
    return headed ? [`${s.arg}:`, ...lines].join('\n') : lines.join('\n');
  });
  return blocks.join('\n\n') + '\n';
}

export async function listCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions('lab list', {
    args: argv,
    options: { json: { type: 'boolean' } },
    allowPositionals: true,
  });
  const kinds = positionals.map((p) => {
    const s = SECTIONS.find((x) => x.arg === p || x.kind === p);
    if (!s) throw new InvalidArgumentError('lab list', p, `one of ${SECTIONS.map((x) => x.arg).join(', ')}`);
    return s.kind;
  });
  const entries = await listEntries(kinds.length > 0 ? kinds : undefined);
  process.stdout.write(values.json ? JSON.stringify(entries, null, 1) + '\n' : formatList(entries));
  return 0;
}
