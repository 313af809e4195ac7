/** `lab env up [--instances N]`: the local environment and N coordinator instances, endpoints printed, until Ctrl-C. */
import { join } from 'node:path';
import { startEnvironment } from '../environment/index.js';
import { CoordinatorInstances } from '../instances/instances.js';
import { coordinatorEntry } from '../scenario/main.js';
import { defaultRunsDir } from '../scenario/scenario.js';
import { InvalidArgumentError } from '../errors.js';
import { parseOptions } from './args.js';

export async function envCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'up') throw new InvalidArgumentError('lab env', argv.join(' ') || undefined, 'up [--instances N]');
  const { values } = parseOptions(
    'lab env up',
    { args: rest, options: { instances: { type: 'string', default: '3' } } },
    { instances: 'N' },
  );
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
      recordIn: env.workDir,
    });
    for (const x of instances.all) lines.push(`  ${x.id.padEnd(9)} ${x.url}  (pid ${x.pid}, log ${x.logFile})`);
  }
  lines.push(`logs in ${runDir}/logs — Ctrl-C stops everything`);
  process.stdout.write(lines.join('\n') + '\n');
  // Runs until a signal: the cleanup registry stops every process and removes the work dir.
  await new Promise<never>(() => {});
  return 0;
}
