/**
 * How an instance the lab started stops: the service drains in named steps and exits 0; a stop that outlasts
 * the service's own deadline (set by the lab 5 s before its SIGKILL) names the step it waited on and exits 1,
 * so a hung stop in a chaos run says where it hung while the service can still say it.
 */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { startCoordinatorTestBed } from './test-bed.js';
import { requireKafkaControl } from '../environment/capabilities.js';

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
    await using bed = await startCoordinatorTestBed({
      name: 'stop',
      kafkaBrokers: 1,
      stopTimeoutMs: 9000,
      env: { COORDINATOR_LOG_LEVEL: 'info' },
    });
    const { env, instances } = bed;
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
    expect(first.at(-1)?.msg, JSON.stringify(first.slice(-4))).toBe('stopped');

    // Every broker request now takes 30 s: leaving the group cannot finish within the service's 4 s deadline.
    await x.start();
    await x.waitReady();
    await requireKafkaControl(env.kafka, 'brokerRtt', env.provider).setBrokerRtt(1, 30_000);
    const t0 = Date.now();
    const code = await x.stop();
    const tookMs = Date.now() - t0;
    await requireKafkaControl(env.kafka, 'brokerRtt', env.provider).setBrokerRtt(1, 0);
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
  }, 120_000);
});
