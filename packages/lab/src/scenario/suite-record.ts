/**
 * `run.json`: what one `lab run <suite>` asked for and what each of its seeds came to, written in the
 * suite's folder when the suite ends. It is what `lab verdicts join` merges across shards and what the
 * suite's JUnit file is made from, so a folder copied off a CI runner says everything without the
 * machine it ran on. Each seed's own folder keeps the full verdicts, history and report.
 *
 * A suite that ends on an error still leaves its record: `started: false` when it could not start at all
 * (its environment, a binary, a port, the baseline build), the error's class and message, and every seed
 * without a result in `notRun`, each with why — so CI has more than an exit code and a log line.
 */
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { errorFields } from '../errors.js';
import { readJson } from './read-json.js';
import type { RunResult } from './run-types.js';

export const SUITE_RECORD = 'run.json';

const checkerSchema = z.strictObject({
  checker: z.string().min(1),
  valid: z.union([z.boolean(), z.literal('unknown')]),
  errorCount: z.number().int().nonnegative(),
  /** The first counterexample's message, when the checker found one. */
  firstError: z.string().optional(),
});

const seedSchema = z.strictObject({
  seed: z.number().int().nonnegative(),
  valid: z.boolean(),
  stalled: z.boolean(),
  /** Ran out of its time limit (absent in records written before it was kept). */
  timedOut: z.boolean().optional(),
  wallMs: z.number().nonnegative(),
  /** The seed's folder, relative to the suite's folder. */
  dir: z.string().min(1),
  replayCommand: z.string().optional(),
  voidRuns: z.number().int().nonnegative(),
  checkers: z.array(checkerSchema),
});

const notRunSchema = z.strictObject({
  seed: z.number().int().nonnegative(),
  /** Why the seed has no result: one of {@link NOT_RUN_REASONS}. */
  reason: z.string().min(1),
  replayCommand: z.string().optional(),
});

/** Why a seed the run asked for has no result. */
export const NOT_RUN_REASONS = {
  /** The suite failed before any seed began: {@link SuiteRecord.error} says why. */
  notStarted: 'the suite could not start',
  /** An error ended the suite while a seed ran or a session opened: {@link SuiteRecord.error} says why. */
  error: 'an error stopped the run',
  /** The run stopped before it without an error (it was told to stop at the first seed that found something). */
  stoppedEarly: 'the run stopped early',
} as const;

export const suiteRecordSchema = z.strictObject({
  format: z.literal(1),
  suite: z.string().min(1),
  variant: z.string().nullable(),
  /** The seeds this run was asked to run (after sharding). */
  seeds: z.array(z.number().int().nonnegative()),
  /** Set when the seeds are shard `index` of `count` of the list `of`. */
  shard: z
    .strictObject({
      index: z.number().int().positive(),
      count: z.number().int().positive(),
      of: z.array(z.number().int().nonnegative()),
    })
    .nullable(),
  wallMs: z.number().nonnegative(),
  sessions: z.number().int().nonnegative(),
  /** In the order they ran; fewer than `seeds` when the run stopped early. */
  results: z.array(seedSchema),
  /** False when the suite could not start: no seed began (absent in records written before it was kept). */
  started: z.boolean().optional(),
  /** The error that ended the run before every seed had a result; absent when none did. */
  error: z.strictObject({ name: z.string().min(1), message: z.string() }).optional(),
  /**
   * The seeds of `seeds` without a result, in their order, each with why (absent in records written before it
   * was kept: see {@link notRunOf}).
   */
  notRun: z.array(notRunSchema).optional(),
});

export type SuiteRecord = z.infer<typeof suiteRecordSchema>;
export type SeedRecordLine = z.infer<typeof seedSchema>;
export type NotRunLine = z.infer<typeof notRunSchema>;

/** The seeds a run asked for and has no result for, with why; for an older record, every such seed "stopped early". */
export function notRunOf(record: SuiteRecord): NotRunLine[] {
  if (record.notRun !== undefined) return record.notRun;
  const ran = new Set(record.results.map((r) => r.seed));
  return record.seeds.filter((s) => !ran.has(s)).map((seed) => ({ seed, reason: NOT_RUN_REASONS.stoppedEarly }));
}

export async function writeSuiteRecord(
  suiteDir: string,
  r: Omit<SuiteRecord, 'format' | 'results' | 'error' | 'notRun'> & {
    readonly results: readonly RunResult[];
    readonly replayCommand?: ((seed: number) => string) | undefined;
    readonly started: boolean;
    /** What ended the run before every seed had a result, if anything did. */
    readonly error?: unknown;
  },
): Promise<SuiteRecord> {
  const ran = new Set(r.results.map((x) => x.stats.seed));
  const reason =
    r.error === undefined
      ? NOT_RUN_REASONS.stoppedEarly
      : r.started
        ? NOT_RUN_REASONS.error
        : NOT_RUN_REASONS.notStarted;
  const record: SuiteRecord = {
    format: 1,
    suite: r.suite,
    variant: r.variant,
    seeds: [...r.seeds],
    shard: r.shard,
    wallMs: r.wallMs,
    sessions: r.sessions,
    results: r.results.map((x) => ({
      seed: x.stats.seed,
      valid: x.valid,
      stalled: x.stats.stalled,
      timedOut: x.stats.timedOut,
      wallMs: Math.round(x.stats.wallMs),
      dir: relative(suiteDir, x.runDir),
      ...(r.replayCommand && { replayCommand: r.replayCommand(x.stats.seed) }),
      voidRuns: x.voidRuns?.length ?? 0,
      checkers: x.verdicts.map((v) => ({
        checker: v.checker,
        valid: v.valid,
        errorCount: v.errorCount,
        ...(v.firstError && { firstError: v.firstError.message }),
      })),
    })),
    started: r.started,
    ...(r.error !== undefined && { error: errorFields(r.error) }),
    notRun: r.seeds
      .filter((seed) => !ran.has(seed))
      .map((seed) => ({ seed, reason, ...(r.replayCommand && { replayCommand: r.replayCommand(seed) }) })),
  };
  await writeFile(join(suiteDir, SUITE_RECORD), JSON.stringify(record, null, 1) + '\n');
  return record;
}

/** Reads and validates a suite folder's `run.json`; a wrong field is named with its value. */
export async function readSuiteRecord(suiteDir: string): Promise<SuiteRecord> {
  return readJson(
    join(suiteDir, SUITE_RECORD),
    suiteRecordSchema,
    'the run.json of a suite folder written by lab run <suite>',
  );
}
