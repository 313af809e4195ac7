/**
 * Known-bad variants of the coordinator, for the chaos lab only:
 * each reproduces one bug of the seed implementation, so the lab can prove
 * its checkers catch real bugs. A variant is a set of
 * {@link CoordinatorOverrides} — subclasses that replace one step each — and
 * is started only through `dist/variants/main.js` with `COORDINATOR_VARIANT`.
 * Production code never imports this directory (enforced by ESLint).
 *
 * Each module's header names the seed bug, why it is wrong, and the
 * invariant that should catch it.
 */
import type { Logger } from 'pino';
import type { CoordinatorConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import type { CoordinatorOverrides } from '../service.js';
import { CacheTrustingStore, CheckThenActSlotCache } from './check-then-act.js';
import { DirectReadyPublishStore } from './direct-ready-publish.js';
import { EarlyOffsetCommitConsumer } from './early-offset-commit.js';
import { InMemoryExpectationsStore } from './in-memory-expectations.js';
import { WatchMultiExecSlotCache } from './watch-multi-exec.js';

export const VARIANT_NAMES = [
  'watch-multi-exec',
  'check-then-act',
  'in-memory-expectations',
  'early-offset-commit',
  'direct-ready-publish',
] as const;
export type VariantName = (typeof VARIANT_NAMES)[number];

/** Name → the adapters it substitutes (given the configuration and the service's logger). */
export const variants: Record<VariantName, (config: CoordinatorConfig, log: Logger) => CoordinatorOverrides> = {
  'watch-multi-exec': () => ({ cache: (opts, metrics) => new WatchMultiExecSlotCache(opts, metrics) }),
  'check-then-act': () => ({
    cache: (opts, metrics) => new CheckThenActSlotCache(opts, metrics),
    store: (opts, metrics) => new CacheTrustingStore(opts, metrics),
  }),
  'in-memory-expectations': () => ({ store: (opts, metrics) => new InMemoryExpectationsStore(opts, metrics) }),
  'early-offset-commit': () => ({ consumer: (...args) => new EarlyOffsetCommitConsumer(...args) }),
  'direct-ready-publish': (config, log) => ({
    store: (opts, metrics) =>
      new DirectReadyPublishStore(opts, metrics, config.kafka, log.child({ component: 'kafka-direct-producer' })),
  }),
};

/** Validates `COORDINATOR_VARIANT`; throws {@link ConfigError} naming it. */
export function parseVariant(raw: string | undefined): VariantName {
  if (raw === undefined || raw === '') throw new ConfigError('COORDINATOR_VARIANT', undefined, 'is required');
  if (!(VARIANT_NAMES as readonly string[]).includes(raw)) {
    throw new ConfigError('COORDINATOR_VARIANT', raw, `must be one of ${VARIANT_NAMES.join(', ')}`);
  }
  return raw as VariantName;
}
