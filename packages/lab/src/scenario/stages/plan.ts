/**
 * Stage 1 of a seed, plan: everything a run will do, from the compiled scenario and the seed alone — the
 * workload, the faults and the topics. Pure: runs, replays and the plan tests call it, and the same seed always
 * gives the same plan. The provider is told to the faults' draw (the mixed nemesis draws only what it can run).
 */
import { inputTopics, topics as topicNames } from '@chaos-lab/contracts';
import { SeededRandom } from '@chaos-lab/model';
import { providerFromEnv, type ProviderName } from '../../environment/index.js';
import { capabilitiesOf } from '../../environment/capabilities.js';
import { instanceIds as idsOf } from '../../instances/instance-id.js';
import { compileScenario, type CompiledScenario, type ScenarioDefinition } from '../definition.js';

/** One set of topics for every seed (the seeds of a suite share them); the ids carry the seed. */
export const TOPIC_PREFIX = 'lab.';
/** Faults draw from the seed xor this, so the workload's stream is untouched by them. */
export const FAULT_STREAM = 0x5eed_fa17;
/** The brokers of every environment. */
export const BROKER_IDS: readonly number[] = [1, 2, 3];

/** The prefix of every id of a seed (batch ids…): `s<seed>`, and `s<seed>-` to tell its outputs. */
export function seedIdPrefix(seed: number): string {
  return `s${seed}`;
}

/** What {@link planSeed} returns: the workload, the faults, and where they go. */
export type SeedPlan = ReturnType<typeof planSeed>;

export function planSeed(def: CompiledScenario, seed: number, provider: ProviderName = providerFromEnv()) {
  const { partitions } = def;
  const prefix = TOPIC_PREFIX;
  const t = topicNames(prefix);
  const plan = def.plan(seed, { idPrefix: seedIdPrefix(seed), topics: t, partitions });
  const instanceIds = idsOf(def.instances);
  const faults = def.faults({
    rng: new SeededRandom((seed ^ FAULT_STREAM) >>> 0),
    instanceIds,
    brokerIds: [...BROKER_IDS],
    inputTopics: inputTopics(t),
    partitions,
    capabilities: capabilitiesOf(provider),
  });
  return { plan, faults, topics: t, instanceIds, partitions, prefix };
}

/** {@link planSeed} of a definition not yet compiled (it is compiled first: compiling is idempotent). */
export function planOf(def: ScenarioDefinition, seed: number, provider: ProviderName = providerFromEnv()): SeedPlan {
  return planSeed(compileScenario(def), seed, provider);
}
