/**
 * How an instance the lab started stops: the service drains in named steps and exits 0; a stop that outlasts
 * the service's own deadline (set by the lab 5 s before its SIGKILL) names the step it waited on and exits 1,
 * so a hung stop in a chaos run says where it hung while the service can still say it.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputTopics, outputTopics, topics as topicNames } from '@chaos-lab/contracts';
import { CoordinatorInstances } from './instances.js';
import { startEnvironment } from '../environment/environment.js';
import { coordinatorEntry } from '../scenario/main.js';

interface LogLine {
  readonly msg: string;
  readonly step?: string;
  readonly timeoutMs?: number;
}

const lines = async (file: string): Promise<LogLine[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

describe('a coordinator instance stopping', () => {
  it('drains in named steps and exits 0; a step that hangs past its deadline is named, and it exits 1 before the SIGKILL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-stop-'));
    const logDir = join(dir, 'logs');
    try {
      await using env = await startEnvironment({ logDir, provider: 'local', prometheus: false, kafkaBrokers: 1 });
      const prefix = `lab.stop${process.pid}.`;
      const t = topicNames(prefix);
      for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, 2);
      for (const topic of outputTopics(t)) await env.kafka.createTopic(topic, 1);
      await using instances = await CoordinatorInstances.start({
        entry: coordinatorEntry(),
        count: 1,
        logDir,
        stopTimeoutMs: 9000,
        env: {
          ...env.coordinatorEnv(),
          COORDINATOR_TOPIC_PREFIX: prefix,
          COORDINATOR_KAFKA_GROUP_ID: `stop-${process.pid}`,
          COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: '4000',
          COORDINATOR_LOG_LEVEL: 'info',
        },
      });
      const x = instances.get(0);

      expect(await x.stop()).toBe(0);
      const first = await lines(x.logFile);
      expect(first.filter((l) => l.msg === 'shutdown step').map((l) => l.step)).toEqual([
        'http',
        'sweeper',
        'consumer',
        'outbox relay',
        'postgres',
        'redis',
      ]);
      expect(first.at(-1)?.msg).toBe('stopped');

      // Every broker request now takes 30 s: leaving the group cannot finish within the service's 4 s deadline.
      await x.start();
      await x.waitReady();
      await env.kafka.setBrokerRtt(1, 30_000);
      const t0 = Date.now();
      const code = await x.stop();
      const tookMs = Date.now() - t0;
      await env.kafka.setBrokerRtt(1, 0);
      const second = (await lines(x.logFile)).slice(first.length);
      const timedOut = second.findIndex((l) => l.msg === 'shutdown took too long; exiting');
      expect(code).toBe(1); // the service's own exit, not the lab's SIGKILL (which gives no code)
      expect(second[timedOut]?.timeoutMs).toBe(4000);
      expect(
        second
          .slice(0, timedOut)
          .filter((l) => l.msg === 'shutdown step')
          .at(-1)?.step,
      ).toBe('consumer');
      expect(tookMs).toBeLessThan(9000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
