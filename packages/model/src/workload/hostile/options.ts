/** The planner's options, and their validation (the seed's too). */
import type { Topics } from '@chaos-lab/contracts';
import { InvalidArgumentError } from '@chaos-lab/errors';

export interface HostileInputOptions {
  /** Number of messages to plan (0 to 100,000). */
  readonly count: number;
  /** Prefix of every batch id and key (letters, digits and . _ : -, 1 to 60 characters). */
  readonly idPrefix: string;
  /** Topic names. Default `topics()` (no prefix). */
  readonly topics?: Topics;
  /**
   * Partitions of the input topics (1 to 1000). When given, about half the entries carry an explicit
   * partition in [0, partitions); default: none do (the producer partitions by key).
   */
  readonly partitions?: number;
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(name, v, `an integer from ${min} to ${max}`);
  }
}

/** Throws an `InvalidArgumentError` for the first of `seed` and `o`'s options out of range. */
export function checkHostileOptions(seed: number, o: HostileInputOptions): void {
  checkInt('seed', seed, 0, 0xffff_ffff);
  checkInt('count', o.count, 0, 100_000);
  if (typeof o.idPrefix !== 'string' || !/^[A-Za-z0-9._:-]{1,60}$/.test(o.idPrefix)) {
    throw new InvalidArgumentError('idPrefix', o.idPrefix, 'letters, digits and . _ : - (1 to 60 characters)');
  }
  if (o.partitions !== undefined) checkInt('partitions', o.partitions, 1, 1000);
}
