/**
 * `lab run <suite> [options]` runs one suite in this process (scenario/main.ts); `lab run --all [options]` or
 * `lab run <suite> <suite>… [options]` runs each in its own process, to its end, and prints one table.
 */
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, LabError } from '../errors.js';
import { runScenarioMain } from '../scenario/main.js';
import { formatSuiteTable, runSuites, suiteConcurrencyFromEnv } from '../suites/run-suites.js';
import { loadScenario, workspaceScenarioNames } from './workspace.js';

export async function runCommand(argv: string[]): Promise<number> {
  const all = argv.includes('--all');
  const skipAt = argv.indexOf('--skip');
  const skip = skipAt === -1 ? [] : (argv[skipAt + 1] ?? '').split(',').filter(Boolean);
  if (skipAt !== -1 && (!all || skip.length === 0))
    throw new InvalidArgumentError(
      '--skip',
      argv[skipAt + 1],
      'suite names after --all, such as --all --skip kafka-faults',
    );
  const rest = argv.filter((a, i) => a !== '--all' && (skipAt === -1 || (i !== skipAt && i !== skipAt + 1)));
  const firstOption = rest.findIndex((a) => a.startsWith('-'));
  const names = firstOption === -1 ? rest : rest.slice(0, firstOption);
  const options = firstOption === -1 ? [] : rest.slice(firstOption);
  if (all && names.length > 0)
    throw new InvalidArgumentError('lab run', argv.join(' '), 'either --all or suite names, not both');
  if (!all && names.length <= 1) return runScenarioMain(await loadScenario(names[0] ?? ''), options);
  // One record per suite folder: several suites' records are one `run.json` each, in their folders.
  if (options.includes('--json'))
    throw new InvalidArgumentError('--json', argv.join(' '), 'one suite (lab run <suite> --json)');
  const suites = all ? workspaceScenarioNames().filter((n) => !skip.includes(n)) : names;
  const unknown = skip.filter((n) => !workspaceScenarioNames().includes(n));
  if (unknown.length > 0)
    throw new InvalidArgumentError('--skip', unknown.join(','), `suite names (${workspaceScenarioNames().join(', ')})`);
  if (suites.length === 0) throw new LabError('no suites found: expected folders scenarios/<name>/ with an index.ts');
  await Promise.all(suites.map(loadScenario)); // every name checked before anything starts
  const outcomes = await runSuites(suites, {
    cli: fileURLToPath(new URL('../cli.js', import.meta.url)),
    args: options,
    concurrency: suiteConcurrencyFromEnv(),
  });
  process.stdout.write(`\n${formatSuiteTable(outcomes)}\n`);
  return outcomes.every((o) => o.exit === 0) ? 0 : 1;
}
