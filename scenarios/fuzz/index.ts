/**
 * Scenario "fuzz": the lab looking for what nobody named. An ordinary
 * workload whose file names come from a pool of three (different uploads of
 * one batch collide by themselves, as two students' `essay.docx` do), with
 * generated hostile messages — arbitrary bytes, invalid UTF-8, NUL,
 * truncated JSON, every field of every input type broken or at its limit,
 * keys absent, empty or huge — spread over the same partitions as the real
 * batches. Judged by every checker, and for liveness within seconds: after
 * the workload every input partition must be consumed to its end
 * (`inputs-consumed` names the message that blocks one).
 */
import { InvalidArgumentError, planMixedFaults, type ScenarioDefinition } from '@chaos-lab/lab';
import { planFuzzWorkload } from '@chaos-lab/model';

/**
 * The contract version of the validation failures the workload sends: 2 (default) or, with
 * LAB_FAILURE_VERSION=1, v1 — what coordinators before v2 speak (v1 cannot tell two uploads of one file
 * name apart, and the lab says so). Part of the plan: replay with the same value.
 */
function failureVersion(): 1 | 2 {
  const v = process.env.LAB_FAILURE_VERSION ?? '2';
  if (v !== '1' && v !== '2') throw new InvalidArgumentError('LAB_FAILURE_VERSION', v, '1 or 2');
  return v === '1' ? 1 : 2;
}

export const scenario: ScenarioDefinition = {
  name: 'fuzz',
  description: 'generated hostile inputs and colliding file names on the partitions of real batches',
  // Room for the mixed nemesis's faults to meet traffic (a crash after the nth commit needs its member back first).
  paceMs: 6000,
  // Liveness in seconds: a partition that stops moving is a finding, not something to wait out.
  // A kill's restart costs a rebalance of about the session timeout on the mock broker, and a busy or read-only
  // store holds the members retrying meanwhile: 8 s without progress and 3 s to settle judged such a recovery
  // stuck (seed 20: redis-busy, then kill -9, the group still rebalancing when judged).
  // And the last commit of a partition can be refused while the group rebalances (REBALANCE_IN_PROGRESS) and
  // made after it: CI, seed 3, validation.failed/2 one offset short 5 s after the heal, at its end just after.
  stallTimeoutMs: 12_000,
  // Inputs of batches never registered must be dead-lettered once the coordinators' parking TTL has passed.
  awaitParkedTtl: true,
  settleBoundMs: 10_000,
  plan: (seed, ctx) =>
    planFuzzWorkload(seed, {
      batches: 10,
      slotsPerBatch: 6,
      failureRatio: 0.25,
      fileNamePool: 3,
      failureVersion: failureVersion(),
      duplicateRatio: 0.2,
      burstCopies: 6,
      orphanContents: 2,
      timeoutBatches: 2,
      hostile: 30,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
  // The mixed nemesis: any fault of the catalogue, overlapping, over the paced workload and a little after, then a heal.
  faults: (ctx) => planMixedFaults(ctx, { count: 5, horizonMs: 8000, trafficMs: 6000 }),
};
