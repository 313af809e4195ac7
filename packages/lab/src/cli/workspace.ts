/**
 * What the `lab` commands find in the workspace: the suites (the folders of `scenarios/`) and the
 * coordinator's known-bad variants (asked of its lab-only entry point, which knows them).
 */
import { dirname, join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { coordinatorEntry } from '../scenario/main.js';
import { defaultRunsDir, type ScenarioDefinition } from '../scenario/scenario.js';
import { InvalidArgumentError, LabError } from '../errors.js';

/** The suites of the workspace: the folders of `scenarios/` with an `index.ts` (one folder per suite). */
export function workspaceScenarioNames(): string[] {
  const root = dirname(defaultRunsDir());
  const dir = join(root, 'scenarios');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

export async function loadScenario(name: string): Promise<ScenarioDefinition> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new InvalidArgumentError('scenario', name, 'a suite name such as "pipeline"');
  let mod: { scenario?: ScenarioDefinition };
  try {
    mod = (await import(`@chaos-lab/scenarios/${name}`)) as { scenario?: ScenarioDefinition };
  } catch (err) {
    const known = workspaceScenarioNames();
    throw new LabError(
      known.length > 0 && !known.includes(name)
        ? `no suite "${name}": expected one of ${known.join(', ')}`
        : `suite "${name}" could not be loaded from scenarios/${name}/ (${(err as Error).message}); run npm run build`,
    );
  }
  if (!mod.scenario) throw new LabError(`scenarios/${name}/index.ts does not export \`scenario\``);
  return mod.scenario;
}

export interface VariantLine {
  readonly name: string;
  /** Its seed bug in one line; empty when the coordinator's `--list` gave only names. */
  readonly description: string;
}

/** The variants, from the coordinator's lab-only entry point itself (`--list`: `name<TAB>description` lines). */
export function variantList(): VariantLine[] {
  const r = spawnSync(process.execPath, [coordinatorEntry('any'), '--list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new LabError(`could not list the coordinator variants: ${r.stderr.trim()}`);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [name = '', ...rest] = l.split('\t');
      return { name: name.trim(), description: rest.join(' ').trim() };
    });
}

/** The variant names. */
export function variantNames(): string[] {
  return variantList().map((v) => v.name);
}
