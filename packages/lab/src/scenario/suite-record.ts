/**
 * `run.json`: what one `lab run <suite>` asked for and what each of its seeds came to, written in the
 * suite's folder when the suite ends. It is what `lab verdicts join` merges across shards and what the
 * suite's JUnit file is made from, so a folder copied off a CI runner says everything without the
 * machine it ran on. Each seed's own folder keeps the full verdicts, history and report.
 */
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
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
});

export type SuiteRecord = z.infer<typeof suiteRecordSchema>;
export type SeedRecordLine = z.infer<typeof seedSchema>;

export async function writeSuiteRecord(
  suiteDir: string,
  r: Omit<SuiteRecord, 'format' | 'results'> & {
    readonly results: readonly RunResult[];
    readonly replayCommand?: ((seed: number) => string) | undefined;
  },
): Promise<SuiteRecord> {
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
