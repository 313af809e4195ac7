/**
 * Lab-only entry point: starts the coordinator with the known-bad variant
 * named by `COORDINATOR_VARIANT` (see `index.ts`). The chaos lab runs it to
 * check that its checkers catch each seed bug; it is never deployed, and the
 * production entry point (`../main.ts`) neither reads that variable nor
 * imports this directory. Same process contract as production (`../run.ts`):
 * a bad or missing variant name is a configuration error (exit 2).
 */
import { exitOnConfigError, runService } from '../run.js';
import { startCoordinator } from '../service.js';
import { parseVariant, VARIANT_DESCRIPTIONS, VARIANT_NAMES, variants } from './index.js';

// `--list` prints the variants, one per line as `name<TAB>seed bug`, so the lab discovers them instead of
// hard-coding them (a reader of the names takes what comes before the tab).
if (process.argv.includes('--list')) {
  process.stdout.write(VARIANT_NAMES.map((n) => `${n}\t${VARIANT_DESCRIPTIONS[n]}`).join('\n') + '\n');
  process.exit(0);
}

const name = exitOnConfigError(() => parseVariant(process.env.COORDINATOR_VARIANT));

void runService((config, log) => {
  const vlog = log.child({ variant: name });
  vlog.warn('starting a known-bad variant of the coordinator (chaos lab only)');
  return startCoordinator(config, vlog, variants[name](config, vlog));
});
