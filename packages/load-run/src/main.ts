#!/usr/bin/env node
/**
 * `turbo run load` (or `node scenarios/load/dist/main.js [--profile NAME|PATH] [--instances N]`): one load run on
 * the local environment. `LAB_LOAD_PROFILE` (default `steady`) and `LAB_LOAD_INSTANCES` (default 3) set the same
 * from the environment, which turbo passes through. Exit 0 when the thresholds held and every completed batch
 * became ready, 99 when not (k6's exit code for failed thresholds), 2 for bad arguments, 1 when the run could not
 * happen.
 */
import { parseArgs } from 'node:util';
import { runAllCleanups } from '@chaos-lab/lab';
import { resolveProfile, runLoad } from './run-load.js';

async function main(): Promise<number> {
  let values: { profile?: string; instances?: string };
  try {
    ({ values } = parseArgs({
      options: { profile: { type: 'string' }, instances: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`load: ${(err as Error).message}\nusage: load [--profile NAME|PATH] [--instances N]\n`);
    return 2;
  }
  const profileArg = values.profile ?? process.env.LAB_LOAD_PROFILE ?? 'steady';
  const instancesArg = values.instances ?? process.env.LAB_LOAD_INSTANCES ?? '3';
  const instances = Number(instancesArg);
  if (!Number.isInteger(instances) || instances < 1 || instances > 16) {
    process.stderr.write(
      `load: --instances (LAB_LOAD_INSTANCES) must be an integer from 1 to 16, got ${JSON.stringify(instancesArg)}\n`,
    );
    return 2;
  }
  let profile;
  try {
    profile = await resolveProfile(profileArg);
  } catch (err) {
    process.stderr.write(`load: profile ${JSON.stringify(profileArg)}: ${(err as Error).message}\n`);
    return 2;
  }
  const r = await runLoad({ profile, instances });
  return r.passed ? 0 : 99;
}

main().then(
  async (code) => {
    await runAllCleanups();
    process.exit(code);
  },
  async (err: unknown) => {
    process.stderr.write(`load: could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await runAllCleanups();
    process.exit(1);
  },
);
