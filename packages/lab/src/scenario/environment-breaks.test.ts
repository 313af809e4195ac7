/**
 * A test bed that dies under a seed ends the seed promptly, blamed on the environment: the local mock broker
 * aborts on an assertion now and then (`rd_kafka_mock_cgrp_member_add: Assertion !member->resp failed`), and a
 * seed whose every wait then talked to a dead broker once hung for 18 minutes. Here the test aborts the broker
 * itself, as that assertion does, as soon as the workload has started.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planAssignmentWorkload } from '../workload/assignment-workload.js';
import { coordinatorEntry } from './main.js';
import { ENVIRONMENT_HELD, runScenario, type ScenarioDefinition } from './scenario.js';

const def: ScenarioDefinition = {
  name: 'broker-dies',
  description: 'a workload paced over 6 s whose broker dies a second in',
  instances: 2,
  partitions: 3,
  paceMs: 6000,
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 6,
      slotsPerBatch: 4,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
};

/** The kafka-mock-host processes this test process started. */
function brokerHosts(): number[] {
  const ps = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((l) => l.includes('kafka-mock-host'))
    .map((l) => Number(l.trim().split(/\s+/, 1)[0]));
}

describe('a broker that dies under a seed', () => {
  it('ends the seed within seconds, with environment-held failing and naming the broker', async () => {
    const lines: string[] = [];
    let killedAt: number | undefined;
    const r = await runScenario(def, {
      seed: 1,
      coordinatorEntry: coordinatorEntry(),
      runsDir: await mkdtemp(join(tmpdir(), 'broker-dies-')),
      provider: 'local',
      out: (l) => lines.push(l),
      progress: (l) => {
        lines.push(l);
        if (killedAt === undefined && l.startsWith('lab: published')) {
          for (const pid of brokerHosts()) process.kill(pid, 'SIGABRT');
          killedAt = performance.now();
        }
      },
    });
    expect(killedAt, lines.join('\n')).toBeDefined();
    const held = r.verdicts.find((v) => v.checker === ENVIRONMENT_HELD);
    expect(held?.valid, lines.join('\n')).toBe(false);
    expect(held?.firstError?.message).toMatch(/Kafka mock cluster process died/);
    expect(r.valid).toBe(false);
    // From the abort to the verdict: the stall bound of the default scenario is 30 s; kafkajs' retries are longer.
    const afterKill = performance.now() - killedAt!;
    expect(afterKill, lines.join('\n')).toBeLessThan(30_000);
    expect(lines.join('\n')).toMatch(/the environment broke/);
  }, 180_000);
});
