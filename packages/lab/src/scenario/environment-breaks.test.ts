/**
 * A test bed that dies under a seed voids the run promptly, blamed on the environment, and the seed runs again: the local mock broker
 * aborts on an assertion now and then (`rd_kafka_mock_cgrp_member_add: Assertion !member->resp failed`), and a
 * seed whose every wait then talked to a dead broker once hung for 18 minutes. Here the test aborts the broker
 * itself, as that assertion does, as soon as the workload has started.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planAssignmentWorkload } from '@chaos-lab/model';
import { coordinatorEntry } from './main.js';
import { ENVIRONMENT_HELD, runScenario, type ScenarioDefinition } from './scenario.js';
import type { Verdict } from '@chaos-lab/model';

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
  it('voids the run within seconds, naming the broker, and runs the seed again on a fresh session', async () => {
    const lines: string[] = [];
    let killedAt: number | undefined;
    let voidedAt: number | undefined;
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
        if (voidedAt === undefined && /its run is void/.test(l)) voidedAt = performance.now();
      },
    });
    const said = lines.join('\n');
    expect(killedAt, said).toBeDefined();
    expect(voidedAt, said).toBeDefined();
    // From the abort to the void verdict: kafkajs' retries against a dead broker alone take longer than this.
    expect(voidedAt! - killedAt!, said).toBeLessThan(30_000);
    expect(said).toMatch(/stopped waiting for the pipeline: the environment broke/);
    expect(r.voidRuns, said).toHaveLength(1);
    const voided = JSON.parse(await readFile(join(r.voidRuns![0]!, 'verdicts.json'), 'utf8')) as Verdict[];
    const held = voided.find((v) => v.checker === ENVIRONMENT_HELD);
    expect(held?.valid).toBe(false);
    expect(held?.firstError?.message).toMatch(/Kafka mock cluster process died/);
    // The second run had a broker that lived: its verdict is the seed's.
    expect(
      r.verdicts.find((v) => v.checker === ENVIRONMENT_HELD),
      said,
    ).toBeUndefined();
    expect(r.valid, said).toBe(true);
  }, 240_000);
});
