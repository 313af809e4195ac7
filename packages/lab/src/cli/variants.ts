/**
 * `lab variants [--seeds 1..3] [--scenarios a,b] [--variants x,y] [--concurrency 3]`: the known-bad coordinator
 * variants against the suites; prints the matrix, exit 1 when a variant is caught by none.
 */
import { InvalidArgumentError } from '../errors.js';
import { parseSeeds } from '../scenario/main.js';
import { formatVariantTable, runVariantMatrix } from '../scenario/variant-matrix.js';
import { parseOptions } from './args.js';
import { loadScenario, variantNames, workspaceScenarioNames } from './workspace.js';

export async function variantsCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions(
    'lab variants',
    {
      args: argv,
      options: {
        seeds: { type: 'string', default: '1..3' },
        scenarios: { type: 'string' },
        variants: { type: 'string' },
        concurrency: { type: 'string', default: '3' },
      },
    },
    { seeds: 'A..B', scenarios: 'a,b', variants: 'x,y', concurrency: 'N' },
  );
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8)
    throw new InvalidArgumentError('--concurrency', values.concurrency, 'an integer from 1 to 8');
  const names = values.scenarios ? values.scenarios.split(',') : workspaceScenarioNames();
  const scenarios = await Promise.all(names.map(loadScenario));
  const variants = values.variants ? values.variants.split(',') : variantNames();
  const t0 = performance.now();
  const cells = await runVariantMatrix({ scenarios, variants, seeds: parseSeeds(values.seeds), concurrency });
  process.stdout.write(
    `\nvariant matrix: ${cells.length} cells in ${((performance.now() - t0) / 60_000).toFixed(1)} min\n`,
  );
  process.stdout.write(`\n${formatVariantTable(cells)}\n`);
  const missed = variants.filter((v) => !cells.some((c) => c.variant === v && c.caught));
  if (missed.length > 0) process.stdout.write(`not caught by any scenario: ${missed.join(', ')}\n`);
  return missed.length === 0 ? 0 : 1;
}
