#!/usr/bin/env node
/**
 * `lab` — the lab's command line.
 *
 *   lab env up [--instances N]     start the local environment (+ N coordinator instances), print the endpoints, run until Ctrl-C
 *   lab run <scenario> --seed N    run one scenario (the package @chaos-lab/scenario-<scenario>) with a seed
 *   lab reap                       stop servers and remove work dirs left by a lab process that was killed
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { startEnvironment } from './environment/environment.js';
import { CoordinatorInstances } from './instances/instances.js';
import { reapStaleWorkDirs } from './env/work-dir.js';
import { coordinatorEntry, runScenarioMain } from './scenario/main.js';
import { defaultRunsDir, type ScenarioDefinition } from './scenario/scenario.js';
import { InvalidArgumentError, LabError } from './errors.js';

const usage = `usage:
  lab env up [--instances N]      environment + N coordinator instances (default 3) until Ctrl-C
  lab run <scenario> [--seed N]   run a scenario package (@chaos-lab/scenario-<scenario>)
  lab reap                        clean up after a lab process that was killed
`;

async function envUp(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { instances: { type: 'string', default: '3' } }, strict: true });
  const n = Number(values.instances);
  if (!Number.isInteger(n) || n < 0 || n > 32)
    throw new InvalidArgumentError('--instances', values.instances, 'an integer from 0 to 32');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const runDir = join(defaultRunsDir(), `env-${stamp}`);
  await using env = await startEnvironment({ logDir: join(runDir, 'logs') });
  await env.kafka.createTopic('batch.registered', 6);
  await env.kafka.createTopic('essay.content.provisioned', 6);
  await env.kafka.createTopic('essay.validation.failed', 6);
  const lines = [
    `environment up in ${env.startupMs.toFixed(0)} ms (provider ${env.provider}, work dir ${env.workDir})`,
    `  redis     ${env.endpoints.redisUrl}  (pid ${env.redis.pid})`,
    `  postgres  ${env.endpoints.postgresUrl}  (pid ${env.postgres.pid})`,
    `  kafka     ${env.endpoints.kafkaBrokers.join(',')}  (pid ${env.kafka.pid}, control API ${env.kafka.controlUrl})`,
  ];
  let instances: CoordinatorInstances | undefined;
  if (n > 0) {
    instances = await CoordinatorInstances.start({
      entry: coordinatorEntry(),
      count: n,
      env: env.coordinatorEnv(),
      logDir: join(runDir, 'logs'),
    });
    for (const x of instances.all) lines.push(`  ${x.id.padEnd(9)} ${x.url}  (pid ${x.pid}, log ${x.logFile})`);
  }
  lines.push(`logs in ${runDir}/logs — Ctrl-C stops everything`);
  process.stdout.write(lines.join('\n') + '\n');
  // Runs until a signal: the cleanup registry stops every process and removes the work dir.
  await new Promise<never>(() => {});
  return 0;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || !/^[a-z0-9-]+$/.test(name))
    throw new InvalidArgumentError('scenario', name ?? null, 'a scenario name such as "pipeline"');
  let mod: { scenario?: ScenarioDefinition };
  try {
    mod = (await import(`@chaos-lab/scenario-${name}`)) as { scenario?: ScenarioDefinition };
  } catch (err) {
    throw new LabError(
      `no scenario "${name}": the package @chaos-lab/scenario-${name} could not be loaded (${(err as Error).message})`,
    );
  }
  if (!mod.scenario) throw new LabError(`@chaos-lab/scenario-${name} does not export \`scenario\``);
  return runScenarioMain(mod.scenario, rest);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'env' && rest[0] === 'up') return envUp(rest.slice(1));
  if (cmd === 'run') return run(rest);
  if (cmd === 'reap') {
    const reaped = await reapStaleWorkDirs();
    process.stdout.write(
      reaped.length === 0 ? 'nothing to reap\n' : reaped.map((r) => `reaped ${JSON.stringify(r)}`).join('\n') + '\n',
    );
    return 0;
  }
  process.stderr.write(usage);
  return cmd === undefined || cmd === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
