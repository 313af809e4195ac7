/**
 * What a scenario declares, and that declaration compiled once: every default
 * applied and every field checked where it enters, naming the field and the
 * value ({@link InvalidArgumentError}). Everything downstream of
 * {@link compileScenario} (the plan, the session, the stages of a seed) takes
 * the {@link CompiledScenario}, whose fields are all present.
 */
import type { Topics } from '@chaos-lab/contracts';
import type { AssignmentPlan } from '@chaos-lab/model';
import type { FaultDrawContext } from '../nemesis/plan/fault-schedule.js';
import type { PlannedFault } from '../nemesis/index.js';
import { InvalidArgumentError } from '../errors.js';

export interface ScenarioContext {
  /** Prefix for every id of this run (batch ids…). */
  readonly idPrefix: string;
  readonly topics: Topics;
  readonly partitions: number;
}

export interface ScenarioDefinition {
  /** Short name, used in run ids and in `lab run <name>`. */
  readonly name: string;
  readonly description: string;
  /**
   * A git ref of this repository whose coordinator the instances start on: the baseline of a rolling upgrade
   * (`rolling-upgrade` moves them to the current build). Built once into a cache (`buildBaseline`); every
   * seed gets a fresh session on it.
   */
  readonly baselineRef?: string;
  /** Coordinator instances. Default 3. */
  readonly instances?: number;
  /** Partitions of each input topic. Default 6. */
  readonly partitions?: number;
  /** How long to wait for every batch to finish. Default 120 000 ms. */
  readonly timeoutMs?: number;
  /** The workload, a pure function of the seed. */
  plan(seed: number, ctx: ScenarioContext): AssignmentPlan;
  /**
   * The faults, drawn from their own random stream of the same seed (so
   * adding a fault never changes the workload). Default: none.
   */
  faults?(ctx: FaultDrawContext): PlannedFault[];
  /** Give up when nothing settles or finishes for this long after the nemesis is done. Default 30 000 ms. */
  readonly stallTimeoutMs?: number;
  /**
   * After the wait, how long the coordinators' group may take to commit every input partition to its end
   * before `inputs-consumed` calls the partition stuck. Default 5000 ms.
   */
  readonly settleBoundMs?: number;
  /**
   * Before the final read, wait until every input published for a batch the plan never registers is past the
   * coordinators' parking TTL (`PARKED_TTL_MS`) and its slack, so that `nothing-lost` can tell an input
   * given up in time from one parked for ever. Default false: such inputs are judged only if the seed ran that long.
   */
  readonly awaitParkedTtl?: boolean;
  /** Spread the publishes over this many ms (so faults meet traffic). Default 0: as fast as possible. */
  readonly paceMs?: number;
  /** Extra coordinator settings for this scenario. Default none. */
  readonly coordinatorEnv?: Record<string, string>;
}

/** A {@link ScenarioDefinition} with its defaults applied and its fields checked: nothing left optional. */
export interface CompiledScenario extends ScenarioDefinition {
  /** Undefined: the instances start on the current build. */
  readonly baselineRef: string | undefined;
  readonly instances: number;
  readonly partitions: number;
  readonly timeoutMs: number;
  faults(ctx: FaultDrawContext): PlannedFault[];
  readonly stallTimeoutMs: number;
  readonly settleBoundMs: number;
  readonly awaitParkedTtl: boolean;
  readonly paceMs: number;
  readonly coordinatorEnv: Readonly<Record<string, string>>;
}

/** The defaults of every optional field, in one place. */
export const SCENARIO_DEFAULTS = {
  instances: 3,
  partitions: 6,
  timeoutMs: 120_000,
  stallTimeoutMs: 30_000,
  settleBoundMs: 5_000,
  awaitParkedTtl: false,
  paceMs: 0,
} as const;

const HOUR_MS = 3_600_000;
const NO_FAULTS = (): PlannedFault[] => [];

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new InvalidArgumentError(field, value, `an integer from ${min} to ${max}`);
  return value;
}

function fn<F>(field: string, value: unknown): F {
  if (typeof value !== 'function') throw new InvalidArgumentError(field, value, 'a function');
  return value as F;
}

/**
 * Applies the defaults ({@link SCENARIO_DEFAULTS}) and checks every field once; throws
 * {@link InvalidArgumentError} naming the first bad field. Compiling a compiled scenario gives it back unchanged.
 */
export function compileScenario(def: ScenarioDefinition): CompiledScenario {
  const d = SCENARIO_DEFAULTS;
  if (typeof def.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(def.name))
    throw new InvalidArgumentError('name', def.name, 'a name of letters, digits, dots, dashes and underscores');
  if (typeof def.description !== 'string') throw new InvalidArgumentError('description', def.description, 'a string');
  if (def.baselineRef !== undefined && (typeof def.baselineRef !== 'string' || def.baselineRef.trim() === ''))
    throw new InvalidArgumentError('baselineRef', def.baselineRef, 'a git ref or sha');
  if (def.awaitParkedTtl !== undefined && typeof def.awaitParkedTtl !== 'boolean')
    throw new InvalidArgumentError('awaitParkedTtl', def.awaitParkedTtl, 'a boolean');
  const env = def.coordinatorEnv ?? {};
  if (typeof env !== 'object' || env === null || Object.values(env).some((v) => typeof v !== 'string'))
    throw new InvalidArgumentError('coordinatorEnv', def.coordinatorEnv, 'an object of string values');
  return {
    name: def.name,
    description: def.description,
    baselineRef: def.baselineRef,
    instances: integer('instances', def.instances ?? d.instances, 1, 16),
    partitions: integer('partitions', def.partitions ?? d.partitions, 1, 64),
    timeoutMs: integer('timeoutMs', def.timeoutMs ?? d.timeoutMs, 1000, HOUR_MS),
    stallTimeoutMs: integer('stallTimeoutMs', def.stallTimeoutMs ?? d.stallTimeoutMs, 1000, HOUR_MS),
    settleBoundMs: integer('settleBoundMs', def.settleBoundMs ?? d.settleBoundMs, 0, HOUR_MS),
    awaitParkedTtl: def.awaitParkedTtl ?? d.awaitParkedTtl,
    paceMs: integer('paceMs', def.paceMs ?? d.paceMs, 0, HOUR_MS),
    plan: fn<ScenarioDefinition['plan']>('plan', def.plan),
    faults: def.faults === undefined ? NO_FAULTS : fn<CompiledScenario['faults']>('faults', def.faults),
    coordinatorEnv: env,
  };
}
