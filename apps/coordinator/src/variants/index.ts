/**
 * Known-bad variants of the coordinator, for the chaos lab only:
 * each reproduces one bug of the seed implementation, so the lab can prove
 * its checkers catch real bugs. A variant is a set of
 * {@link CoordinatorOverrides}: wrappers around production's adapters — a
 * decorator of a port, or production's store given settling steps of its
 * own, or production's consumer given its own batch handling — and is started only through `dist/variants/main.js` with `COORDINATOR_VARIANT`.
 * Production code never imports this directory (enforced by ESLint).
 *
 * Each module's header names the seed bug, why it is wrong, and the
 * invariant that should catch it.
 */
import type { Logger } from 'pino';
import type { CoordinatorConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import type { CoordinatorOverrides } from '../service.js';
import { CheckThenActSlotCache, cacheTrustingSteps, dropContentUnique } from './check-then-act.js';
import { DirectReadyPublisher } from './direct-ready-publish.js';
import { commitEarly } from './early-offset-commit.js';
import { InMemoryExpectations } from './in-memory-expectations.js';
import { WatchMultiExecSlotCache } from './watch-multi-exec.js';

export const VARIANT_NAMES = [
  'watch-multi-exec',
  'check-then-act',
  'in-memory-expectations',
  'early-offset-commit',
  'direct-ready-publish',
] as const;
export type VariantName = (typeof VARIANT_NAMES)[number];

/** Each variant's seed bug in one line (`--list` prints them; its module's header says the rest). */
export const VARIANT_DESCRIPTIONS: Record<VariantName, string> = {
  'watch-multi-exec':
    'slot assignment by WATCH/MULTI/EXEC from Node, whose own SPOP aborts every EXEC: assignments stop',
  'check-then-act': 'idempotency as HGET then SPOP (no Lua), and Postgres trusting the cache: a content in two slots',
  'in-memory-expectations': "a batch's expected and settled counts kept in one instance's memory: batches never close",
  'early-offset-commit': 'input offsets committed before the work is durable: a crash loses inputs for good',
  'direct-ready-publish':
    'batch.ready published straight to Kafka inside the transaction, with a random id: twice on a retry',
};

/** Name → the adapters it substitutes (given the configuration and the service's logger). */
export const variants: Record<VariantName, (config: CoordinatorConfig, log: Logger) => CoordinatorOverrides> = {
  'watch-multi-exec': () => ({
    cache: (production, opts, metrics) => new WatchMultiExecSlotCache(production, opts, metrics),
  }),
  'check-then-act': () => ({
    cache: (production, opts, metrics) => new CheckThenActSlotCache(production, opts, metrics),
    settleSteps: cacheTrustingSteps,
    afterMigrate: dropContentUnique,
  }),
  'in-memory-expectations': () => {
    const memory = new InMemoryExpectations();
    return { settleSteps: (production) => memory.steps(production), store: (production) => memory.store(production) };
  },
  'early-offset-commit': () => ({ eachBatch: commitEarly }),
  'direct-ready-publish': (config, log) => {
    const publisher = new DirectReadyPublisher(config.kafka, log.child({ component: 'kafka-direct-producer' }));
    return { settleSteps: (production) => publisher.steps(production), stop: () => publisher.disconnect() };
  },
};

/** Validates `COORDINATOR_VARIANT`; throws {@link ConfigError} naming it. */
export function parseVariant(raw: string | undefined): VariantName {
  if (raw === undefined || raw === '') throw new ConfigError('COORDINATOR_VARIANT', undefined, 'is required');
  if (!(VARIANT_NAMES as readonly string[]).includes(raw)) {
    throw new ConfigError('COORDINATOR_VARIANT', raw, `must be one of ${VARIANT_NAMES.join(', ')}`);
  }
  return raw as VariantName;
}
