/**
 * `lab shrink <suite> --seed N [--max-runs 30] [--max-minutes 15] [--checker NAME]... [--matching REGEX]`: a
 * failing seed's plan cut down to a minimal one that still fails; prints its replay.
 */
import { InvalidArgumentError } from '../errors.js';
import { coordinatorEntry } from '../scenario/main.js';
import { shrinkSeed } from '../scenario/shrink.js';
import { parseOptions } from './args.js';
import { loadScenario } from './workspace.js';

export async function shrinkCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const def = await loadScenario(name ?? '');
  const { values } = parseOptions(
    'lab shrink',
    {
      args: rest,
      options: {
        seed: { type: 'string' },
        'max-runs': { type: 'string', default: '30' },
        'max-minutes': { type: 'string', default: '15' },
        checker: { type: 'string', multiple: true },
        matching: { type: 'string' },
      },
    },
    { seed: 'N', 'max-runs': 'N', 'max-minutes': 'M', checker: 'NAME', matching: 'REGEX' },
  );
  let matching: RegExp | undefined;
  try {
    if (values.matching !== undefined) matching = new RegExp(values.matching);
  } catch (err) {
    throw new InvalidArgumentError('--matching', values.matching, `a regular expression (${(err as Error).message})`);
  }
  const seed = Number(values.seed);
  if (values.seed === undefined || !Number.isSafeInteger(seed) || seed < 0)
    throw new InvalidArgumentError('--seed', values.seed, 'a non-negative integer');
  const maxRuns = Number(values['max-runs']);
  if (!Number.isInteger(maxRuns) || maxRuns < 1)
    throw new InvalidArgumentError('--max-runs', values['max-runs'], 'an integer ≥ 1');
  const maxMinutes = Number(values['max-minutes']);
  if (!(maxMinutes > 0)) throw new InvalidArgumentError('--max-minutes', values['max-minutes'], 'a positive number');
  const r = await shrinkSeed(def, {
    seed,
    maxRuns,
    maxMs: maxMinutes * 60_000,
    coordinatorEntry: coordinatorEntry(),
    ...(values.checker && { checkers: values.checker }),
    ...(matching && { matching }),
  });
  process.stdout.write(
    `${def.name} seed ${seed}: ${r.from.publishes}→${r.subset.publishes.length} publishes, ${r.from.faults}→${r.subset.faults.length} faults, still failing ${r.checkers.join(', ')} (${r.runs} runs, ${(r.ms / 1000).toFixed(0)} s)\nminimal plan: ${r.file}\nreplay: ${r.replayCommand}\n`,
  );
  return 0;
}
