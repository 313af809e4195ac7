/**
 * A load profile: how fast iterations arrive (k6's arrival-rate executors, same field names and
 * duration strings), what the batches look like, how many requests are duplicates or invalid essays,
 * and the pass/fail thresholds. One JSON file drives both the embedded driver and the k6 script.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { ThresholdSyntaxError, parseThreshold } from './thresholds.js';
import { LoadError } from './errors.js';

const duration = z.string().refine((s) => parseDuration(s) !== undefined && parseDuration(s)! > 0, {
  message: 'not a positive k6 duration such as "30s", "2m", "1m30s" or "500ms"',
});
const positiveInt = z.number().int().positive();
const ratio = z.number().min(0).max(1);

const constantArrival = z
  .object({
    executor: z.literal('constant-arrival-rate'),
    rate: positiveInt,
    timeUnit: duration.default('1s'),
    duration,
    preAllocatedVUs: positiveInt,
    maxVUs: positiveInt,
  })
  .strict();

const stage = z.object({ target: z.number().int().min(0), duration }).strict();

const rampingArrival = z
  .object({
    executor: z.literal('ramping-arrival-rate'),
    startRate: z.number().int().min(0).default(0),
    timeUnit: duration.default('1s'),
    stages: z.array(stage).min(1),
    preAllocatedVUs: positiveInt,
    maxVUs: positiveInt,
  })
  .strict();

export const profileSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
    seed: z.number().int().min(0).max(0xffffffff),
    arrival: z.discriminatedUnion('executor', [constantArrival, rampingArrival]),
    batches: z
      .object({
        sizeMin: positiveInt,
        sizeMax: positiveInt,
        deadlineSeconds: z.number().positive().optional(),
      })
      .strict(),
    duplicateRatio: ratio,
    validationFailureRatio: ratio,
    registerFirstRatio: ratio.optional(),
    textBytes: z.object({ min: positiveInt, max: positiveInt }).strict(),
    thresholds: z.record(z.string(), z.array(z.string())),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.arrival.maxVUs < p.arrival.preAllocatedVUs) {
      ctx.addIssue({ code: 'custom', path: ['arrival', 'maxVUs'], message: 'must be ≥ preAllocatedVUs' });
    }
    if (p.batches.sizeMax < p.batches.sizeMin) {
      ctx.addIssue({ code: 'custom', path: ['batches', 'sizeMax'], message: 'must be ≥ batches.sizeMin' });
    }
    if (p.textBytes.max < p.textBytes.min) {
      ctx.addIssue({ code: 'custom', path: ['textBytes', 'max'], message: 'must be ≥ textBytes.min' });
    }
    for (const [key, expressions] of Object.entries(p.thresholds)) {
      expressions.forEach((expression, index) => {
        try {
          parseThreshold(key, expression);
        } catch (error) {
          if (!(error instanceof ThresholdSyntaxError)) throw error;
          ctx.addIssue({ code: 'custom', path: ['thresholds', key, index], message: error.reason });
        }
      });
    }
  });

export type Profile = z.infer<typeof profileSchema>;
export type ArrivalConfig = Profile['arrival'];

export interface ProfileIssue {
  /** Dotted path of the offending field, e.g. `arrival.rate` or `thresholds.http_req_duration.0`. */
  readonly field: string;
  /** The value found there (undefined when missing). */
  readonly value: unknown;
  readonly message: string;
}

export class ProfileError extends LoadError {
  constructor(
    /** The file (or "profile" for an in-memory value). */
    readonly source: string,
    readonly issues: readonly ProfileIssue[],
  ) {
    super(
      `invalid load profile ${source}: ` +
        issues.map((i) => `${i.field || '(root)'}=${describe(i.value)}: ${i.message}`).join('; '),
    );
  }
}

function describe(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Validates a profile value; throws ProfileError naming each bad field and its value. */
export function parseProfile(input: unknown, source = 'profile'): Profile {
  const result = profileSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ProfileError(
    source,
    result.error.issues.map((issue) => {
      // An unrecognised key's issue sits at its parent; name the keys themselves.
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
      const path = issue.path.map(String);
      return {
        field: keys ? [...path, keys.join(',')].join('.') : path.join('.'),
        value: keys ? valueAt(input, [...issue.path, keys[0]!]) : valueAt(input, issue.path),
        message: issue.message,
      };
    }),
  );
}

/** Reads and validates a profile JSON file. */
export async function loadProfile(path: string): Promise<Profile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ProfileError(path, [
      { field: '', value: undefined, message: `cannot read: ${(error as Error).message}` },
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProfileError(path, [{ field: '', value: undefined, message: `not JSON: ${(error as Error).message}` }]);
  }
  return parseProfile(json, path);
}

/** Milliseconds of a validated duration field. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new RangeError(`not a k6 duration: ${JSON.stringify(text)}`);
  return ms;
}

/** The scheduled length of a profile's arrival phase, in milliseconds. */
export function arrivalDurationMs(arrival: ArrivalConfig): number {
  return arrival.executor === 'constant-arrival-rate'
    ? durationMs(arrival.duration)
    : arrival.stages.reduce((sum, s) => sum + durationMs(s.duration), 0);
}
