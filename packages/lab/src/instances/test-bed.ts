/**
 * A local environment with the coordinator's topics and a few coordinator
 * instances on them: what a test of an instance's own behaviour (its clock,
 * its stop) needs, set up once. Stopping it stops the instances, then the
 * servers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputTopics, outputTopics, topics as topicNames } from '@chaos-lab/contracts';
import { startEnvironment, type StartedEnvironment } from '../environment/index.js';
import { coordinatorEntry } from '../scenario/main.js';
import { CoordinatorInstances, type InstanceOptions } from './instances.js';

export interface CoordinatorTestBedOptions {
  /** Where the servers' and the instances' logs go. Default: a temporary folder, removed when the bed stops. */
  readonly logDir?: string;
  /** Names the topic prefix (`lab.<name><pid>.`) and the consumer group (`<name>-<pid>`). */
  readonly name: string;
  /** Default 3. */
  readonly kafkaBrokers?: number;
  /** Partitions of each input topic (outputs have one). Default 2. */
  readonly partitions?: number;
  /** Default 1. */
  readonly count?: number;
  readonly stopTimeoutMs?: number;
  readonly clockControl?: boolean;
  /** Added to (and over) the instances' environment. Default session timeout 4 s, log level warn. */
  readonly env?: Record<string, string>;
}

export interface CoordinatorTestBed extends AsyncDisposable {
  readonly env: StartedEnvironment;
  readonly instances: CoordinatorInstances;
  /** The topic names under the bed's prefix. */
  readonly topics: ReturnType<typeof topicNames>;
  stop(): Promise<void>;
}

export async function startCoordinatorTestBed(o: CoordinatorTestBedOptions): Promise<CoordinatorTestBed> {
  const temp = o.logDir === undefined ? await mkdtemp(join(tmpdir(), `lab-${o.name}-`)) : undefined;
  const logDir = o.logDir ?? join(temp!, 'logs');
  const removeTemp = async () => {
    if (temp !== undefined) await rm(temp, { recursive: true, force: true });
  };
  const env = await startEnvironment({
    logDir,
    provider: 'local',
    prometheus: false,
    kafkaBrokers: o.kafkaBrokers ?? 3,
  });
  try {
    const prefix = `lab.${o.name}${process.pid}.`;
    const t = topicNames(prefix);
    for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, o.partitions ?? 2);
    for (const topic of outputTopics(t)) await env.kafka.createTopic(topic, 1);
    const opts: InstanceOptions = {
      entry: coordinatorEntry(),
      count: o.count ?? 1,
      logDir,
      ...(o.stopTimeoutMs !== undefined && { stopTimeoutMs: o.stopTimeoutMs }),
      ...(o.clockControl !== undefined && { clockControl: o.clockControl }),
      env: {
        ...env.coordinatorEnv(),
        COORDINATOR_TOPIC_PREFIX: prefix,
        COORDINATOR_KAFKA_GROUP_ID: `${o.name}-${process.pid}`,
        COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: '4000',
        COORDINATOR_LOG_LEVEL: 'warn',
        ...o.env,
      },
    };
    const instances = await CoordinatorInstances.start(opts);
    const stop = async () => {
      await instances.stop();
      await env.stop();
      await removeTemp();
    };
    return { env, instances, topics: t, stop, [Symbol.asyncDispose]: stop };
  } catch (err) {
    await env.stop();
    await removeTemp();
    throw err;
  }
}
