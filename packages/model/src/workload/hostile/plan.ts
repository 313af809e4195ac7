/**
 * The planner: `count` hostile messages for a seed, each of a class drawn by weight (the oversized ones
 * scheduled), each rejected by the oracle, so the coordinator must dead-letter each one exactly once and keep
 * consuming its partition.
 *
 * Determinism: a plan is a pure function of (seed, options), drawn with `fc.sample` under an explicit seed and
 * random generator; every size is explicit, so `fc.configureGlobal` cannot change it. The same seed gives the
 * same bytes on any machine with the same fast-check version (the lockfile pins it; an upgrade may change the
 * stream, not the classes). The order of the arbitraries and of the draws is part of the stream: changing it
 * changes every plan.
 */
import fc from 'fast-check';
import { topics as topicNames } from '@chaos-lab/contracts';
import type { PlannedPublish } from '../assignment-workload.js';
import type { HostileClass } from './class.js';
import type { ValueDraft } from './classes/context.js';
import { keyArbitrary } from './classes/keys.js';
import { valueArbitraries } from './classes/values.js';
import { checkHostileOptions, type HostileInputOptions } from './options.js';
import { contractAccepts } from './oracle.js';
import { utf8 } from './text.js';

/** A planned entry before encoding: its value, class, key bytes and partition. */
interface Draft extends ValueDraft {
  readonly cls: HostileClass;
  /** Exact key bytes, null for none; undefined: the printable fallback key. */
  readonly keyBytes?: Buffer | null;
  readonly partition?: number;
}

/** One oversized entry per this many (DESIGN: rare, to keep runs fast). */
const OVERSIZED_EVERY = 50;

/**
 * Plans `count` hostile messages for `seed`: every one rejected by {@link contractAccepts}, so every one
 * must be dead-lettered exactly once. Pure: the same (seed, options) give the same entries, byte for byte.
 */
export function planHostileInputs(seed: number, o: HostileInputOptions): PlannedPublish[] {
  checkHostileOptions(seed, o);
  if (o.count === 0) return [];
  const t = o.topics ?? topicNames();
  const v = valueArbitraries(o.idPrefix, t);
  const partitions = o.partitions;
  const partition =
    partitions === undefined ? fc.constant(undefined) : fc.option(fc.nat(partitions - 1), { nil: undefined });
  const valueOf = (cls: Exclude<HostileClass, 'keys'>, a: fc.Arbitrary<ValueDraft>) =>
    fc.tuple(a, partition).map(([d, part]): Draft => ({ ...d, cls, partition: part }));
  const keyed = (value: fc.Arbitrary<ValueDraft>) =>
    fc
      .tuple(value, keyArbitrary(), partition)
      .map(([d, keyBytes, part]): Draft => ({ ...d, cls: 'keys', keyBytes, partition: part }));
  // Construction already breaks every value; the filter keeps a freak draw (random bytes that happen to
  // form a valid event) out of the plan.
  const rejected = (d: Draft) => !contractAccepts(d.topic, d.value, t);
  const ordinary = fc
    .oneof(
      { arbitrary: valueOf('bytes', v.bytes), weight: 25 },
      { arbitrary: valueOf('text-json-broken', v.textJsonBroken), weight: 25 },
      { arbitrary: valueOf('schema', v.schema), weight: 30 },
      {
        arbitrary: keyed(
          fc.oneof(
            { arbitrary: v.bytes, weight: 30 },
            { arbitrary: v.textJsonBroken, weight: 30 },
            { arbitrary: v.schema, weight: 40 },
          ),
        ),
        weight: 20,
      },
    )
    .filter(rejected);
  const big = fc
    .oneof({ arbitrary: valueOf('oversized', v.oversized), weight: 9 }, { arbitrary: keyed(v.oversized), weight: 1 })
    .filter(rejected);
  // Oversized values are scheduled, not drawn: exactly one in every block of 50 entries, at a seeded
  // position, so they stay rare (each costs 256 KiB to build, send and check) yet a plan of 50 or more
  // always has them. Three streams of one seed: the position, the ordinary entries, the big ones.
  const sample = <T>(arb: fc.Arbitrary<T>, s: number, numRuns: number): T[] =>
    // An explicit random generator and path, so fc.configureGlobal cannot change the stream.
    numRuns === 0 ? [] : fc.sample(arb, { seed: s, numRuns, randomType: 'xorshift128plus', path: '', examples: [] });
  const offset = sample(fc.noBias(fc.nat(OVERSIZED_EVERY - 1)), (seed ^ 0x9e3779b9) >>> 0, 1)[0]!;
  const isBig = (i: number) => i % OVERSIZED_EVERY === offset;
  const nBig = Math.floor(o.count / OVERSIZED_EVERY) + (o.count % OVERSIZED_EVERY > offset ? 1 : 0);
  const ordinaryDrafts = sample(ordinary, seed, o.count - nBig);
  const bigDrafts = sample(big, (seed ^ 0x5bd1e995) >>> 0, nBig);
  let nextOrdinary = 0;
  let nextBig = 0;
  const drafts = Array.from({ length: o.count }, (_, i) =>
    isBig(i) ? bigDrafts[nextBig++]! : ordinaryDrafts[nextOrdinary++]!,
  );
  return drafts.map((d, i): PlannedPublish => {
    const key = `${o.idPrefix}-h${i}`;
    const keyBytes = d.keyBytes === undefined ? utf8(key) : d.keyBytes;
    return {
      topic: d.topic,
      key,
      ...(d.partition === undefined ? {} : { partition: d.partition }),
      valueBase64: d.value.toString('base64'),
      keyBase64: keyBytes === null ? null : keyBytes.toString('base64'),
      role: `hostile:${d.cls}`,
    };
  });
}
