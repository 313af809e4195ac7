import { describe, expect, it } from 'vitest';
import { planAssignmentWorkload } from '@chaos-lab/model';
import { InvalidArgumentError } from '../errors.js';
import { compileScenario, SCENARIO_DEFAULTS, type ScenarioDefinition } from './definition.js';

const minimal: ScenarioDefinition = {
  name: 'tiny',
  description: 'two batches',
  plan: (seed, ctx) =>
    planAssignmentWorkload(seed, {
      batches: 2,
      slotsPerBatch: 2,
      partitions: ctx.partitions,
      idPrefix: ctx.idPrefix,
      topics: ctx.topics,
    }),
};

function rejection(def: ScenarioDefinition): InvalidArgumentError {
  try {
    compileScenario(def);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error('compileScenario accepted the definition');
}

describe('compileScenario', () => {
  it('applies every default once', () => {
    const c = compileScenario(minimal);
    expect(c).toMatchObject({
      name: 'tiny',
      instances: 3,
      partitions: 6,
      timeoutMs: 120_000,
      stallTimeoutMs: 30_000,
      settleBoundMs: 5_000,
      awaitParkedTtl: false,
      paceMs: 0,
      baselineRef: undefined,
      coordinatorEnv: {},
    });
    expect(SCENARIO_DEFAULTS).toMatchObject({ instances: 3, partitions: 6, timeoutMs: 120_000 });
    expect(c.faults({} as never)).toEqual([]);
    expect(c.plan).toBe(minimal.plan);
  });

  it('keeps the values a definition gives', () => {
    const faults = () => [];
    const c = compileScenario({
      ...minimal,
      instances: 2,
      partitions: 3,
      timeoutMs: 60_000,
      stallTimeoutMs: 12_000,
      settleBoundMs: 0,
      awaitParkedTtl: true,
      paceMs: 6000,
      baselineRef: 'v1',
      coordinatorEnv: { COORDINATOR_X: '1' },
      faults,
    });
    expect(c).toMatchObject({
      instances: 2,
      partitions: 3,
      timeoutMs: 60_000,
      stallTimeoutMs: 12_000,
      settleBoundMs: 0,
      awaitParkedTtl: true,
      paceMs: 6000,
      baselineRef: 'v1',
      coordinatorEnv: { COORDINATOR_X: '1' },
    });
    expect(c.faults).toBe(faults);
  });

  it.each([
    ['name', { name: '' }, 'name: expected a name of letters, digits, dots, dashes and underscores (got "")'],
    ['name', { name: 'a b' }, 'name: expected'],
    ['description', { description: 3 }, 'description: expected a string (got 3)'],
    ['baselineRef', { baselineRef: ' ' }, 'baselineRef: expected a git ref or sha'],
    ['instances', { instances: 0 }, 'instances: expected an integer from 1 to 16 (got 0)'],
    ['instances', { instances: 2.5 }, 'instances: expected an integer from 1 to 16 (got 2.5)'],
    ['partitions', { partitions: 65 }, 'partitions: expected an integer from 1 to 64 (got 65)'],
    ['timeoutMs', { timeoutMs: 5 }, 'timeoutMs: expected an integer from 1000 to 3600000 (got 5)'],
    ['stallTimeoutMs', { stallTimeoutMs: -1 }, 'stallTimeoutMs: expected an integer from 1000 to 3600000 (got -1)'],
    ['settleBoundMs', { settleBoundMs: Number.NaN }, 'settleBoundMs: expected an integer from 0 to 3600000'],
    ['paceMs', { paceMs: '100' }, 'paceMs: expected an integer from 0 to 3600000'],
    ['awaitParkedTtl', { awaitParkedTtl: 'yes' }, 'awaitParkedTtl: expected a boolean'],
    ['coordinatorEnv', { coordinatorEnv: { X: 1 } }, 'coordinatorEnv: expected an object of string values'],
    ['plan', { plan: undefined }, 'plan: expected a function'],
    ['faults', { faults: [] }, 'faults: expected a function'],
  ])('rejects a bad %s, naming the field', (field, patch, message) => {
    const err = rejection({ ...minimal, ...(patch as object) } as ScenarioDefinition);
    expect(err.message.startsWith(message)).toBe(true);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });

  it('is idempotent: a compiled definition compiles to itself', () => {
    const once = compileScenario({ ...minimal, instances: 2, paceMs: 4000 });
    const twice = compileScenario(once);
    expect(twice).toEqual(once);
    expect(twice.faults).toBe(once.faults);
    expect(twice.plan).toBe(once.plan);
    expect(compileScenario(compileScenario(minimal))).toEqual(compileScenario(minimal));
  });
});
