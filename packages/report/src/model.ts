/**
 * The report's input: everything one run's page shows, as plain data. The lab (chaos runs) and the load runner
 * build it from what they saved; `renderReport` validates it here, at the entry, so a producer's mistake is named
 * (field and value) instead of turning into a silently wrong page.
 *
 * Times are epoch milliseconds. Objects are strict: an unknown key is rejected, because a misspelt optional
 * field (`replayCmd`) would otherwise vanish from the page without a word.
 */
import { z } from 'zod';
import { ReportInputError, type InputProblem } from './errors.js';

const epochMs = z.number().nonnegative();

/** A link next to the report: a relative path, never a scheme (`javascript:`) or another host. */
const relativeHref = z
  .string()
  .min(1)
  .refine((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith('//') && !href.startsWith('\\\\'), {
    message: 'a relative link (no scheme, no host)',
  });

export const factSchema = z.strictObject({ label: z.string(), value: z.string() });

export const faultSchema = z.strictObject({
  label: z.string().min(1),
  kind: z.string().min(1),
  target: z.string().min(1).optional(),
  start: epochMs,
  /** Missing: the fault lasted until the run's end. */
  end: epochMs.optional(),
  effect: z.string().optional(),
});

export const seriesSchema = z.strictObject({
  name: z.string().min(1),
  /** `[epoch ms, value]`; a null value is a gap in the line. */
  points: z.array(z.tuple([epochMs, z.number().nullable()])),
});

export const chartSchema = z.strictObject({
  /** Used in element ids and by the browser checks; unique within a report. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - (an element id)'),
  title: z.string().min(1),
  /** `s`, `ms`, `ops/s`, `bytes`, `%`, or `''` for a plain count. */
  unit: z.string(),
  series: z.array(seriesSchema),
  /** Where the data came from, e.g. the PromQL query. */
  note: z.string().optional(),
});

/** What can happen to an instance, as the timeline draws it (the lab's history entries of the same names). */
export const LIFECYCLE_KINDS = [
  'running',
  'started',
  'ready',
  'joined',
  'stopping',
  'killed',
  'paused',
  'resumed',
  'exited',
] as const;
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

export const lifecycleEventSchema = z.strictObject({
  time: epochMs,
  /** `running`: it was up when the record began; `joined`: it joined its consumer group; the rest as named. */
  kind: z.enum(LIFECYCLE_KINDS),
  /** A few words more, shown on hover: `pid 4121`, `signal SIGKILL`, `6 partitions`. */
  note: z.string().optional(),
});

export const instanceLaneSchema = z.strictObject({
  /** The instance's name, e.g. `coordinator-2`: one lane each. */
  id: z.string().min(1),
  events: z.array(lifecycleEventSchema),
});

export const rateSeriesSchema = z.strictObject({
  name: z.string().min(1),
  /** Drawn in the inputs panel or the outputs panel. */
  group: z.enum(['inputs', 'outputs']),
  /** Events per bin; bin `i` starts at `startedAt + i · binMs`. Drawn as events per second. */
  counts: z.array(z.number().nonnegative()),
});

/**
 * What the run's timeline draws besides the faults: each instance's life, and input and output rates binned
 * finely (from the run's own record, so a five-second run still has 50 points a line at 100 ms).
 */
export const timelineSchema = z.strictObject({
  /** Width of a rate bin, ms. */
  binMs: z.number().positive(),
  rates: z.array(rateSeriesSchema),
  instances: z.array(instanceLaneSchema),
  /** Where the numbers come from, said under the timeline. */
  note: z.string().optional(),
});

export const verdictSchema = z.strictObject({
  checker: z.string().min(1),
  valid: z.union([z.boolean(), z.literal('unknown')], { error: 'true, false or "unknown"' }),
  summary: z.string(),
  counterexamples: z.array(z.unknown()),
  /**
   * A failing verdict: when its first counterexample happened and how that is known. Missing: it was judged
   * from the end state, and the timeline marks it at the end of the run, saying so.
   */
  violatedAt: z.strictObject({ time: epochMs, how: z.string().min(1) }).optional(),
});

export const thresholdSchema = z.strictObject({
  metric: z.string().min(1),
  expression: z.string().min(1),
  ok: z.boolean(),
  actual: z.string(),
});

export const logLinkSchema = z.strictObject({ name: z.string().min(1), href: relativeHref });

export const reportInputSchema = z
  .strictObject({
    kind: z.enum(['chaos', 'load']),
    /** e.g. `pipeline — seed 3`. */
    title: z.string().min(1),
    /** The run folder's name. */
    runId: z.string().min(1),
    startedAt: epochMs,
    endedAt: epochMs,
    /** Chaos runs: the checkers' verdict; load runs: whether the thresholds held. */
    outcome: z.enum(['valid', 'invalid', 'unknown', 'passed', 'failed']),
    replayCommand: z.string().min(1).optional(),
    facts: z.array(factSchema),
    faults: z.array(faultSchema),
    /** Instance lives and fine-grained rates for the timeline (chaos runs); the faults are drawn on it anyway. */
    timeline: timelineSchema.optional(),
    charts: z.array(chartSchema),
    verdicts: z.array(verdictSchema),
    thresholds: z.array(thresholdSchema).optional(),
    /** A preformatted block, e.g. the k6-style summary of a load run. */
    textSummary: z.string().optional(),
    logs: z.array(logLinkSchema),
  })
  .superRefine((input, ctx) => {
    if (input.endedAt < input.startedAt) {
      ctx.addIssue({ code: 'custom', path: ['endedAt'], message: `a time at or after startedAt (${input.startedAt})` });
    }
    input.faults.forEach((fault, i) => {
      if (fault.end !== undefined && fault.end < fault.start) {
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'end'],
          message: `a time at or after start (${fault.start})`,
        });
      }
    });
    const seen = new Set<string>();
    input.charts.forEach((chart, i) => {
      if (seen.has(chart.id)) {
        ctx.addIssue({ code: 'custom', path: ['charts', i, 'id'], message: 'an id no other chart has' });
      }
      seen.add(chart.id);
    });
  });

export type ReportInput = z.infer<typeof reportInputSchema>;
export type Fact = z.infer<typeof factSchema>;
export type Fault = z.infer<typeof faultSchema>;
export type Chart = z.infer<typeof chartSchema>;
export type Series = z.infer<typeof seriesSchema>;
export type Verdict = z.infer<typeof verdictSchema>;
export type Threshold = z.infer<typeof thresholdSchema>;
export type LogLink = z.infer<typeof logLinkSchema>;
export type Timeline = z.infer<typeof timelineSchema>;
export type RateSeries = z.infer<typeof rateSeriesSchema>;
export type InstanceLane = z.infer<typeof instanceLaneSchema>;
export type LifecycleEvent = z.infer<typeof lifecycleEventSchema>;
export type Outcome = ReportInput['outcome'];

/** Validates `raw` against the model; throws {@link ReportInputError} naming the first bad field and its value. */
export function parseReportInput(raw: unknown): ReportInput {
  const result = reportInputSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => toProblems(raw, issue));
  const [first, ...rest] = problems;
  // zod never fails without an issue; the fallback keeps the error's shape total anyway.
  throw new ReportInputError(
    first ? [first, ...rest] : [{ field: '(input)', value: raw, expectation: 'a report input' }],
  );
}

function toProblems(raw: unknown, issue: z.core.$ZodIssue): InputProblem[] {
  const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const holder = valueAt(raw, path);
    return issue.keys.map((key) => ({
      field: formatPath([...path, key]),
      value: valueAt(holder, [key]),
      expectation: 'no such field (unknown key)',
    }));
  }
  return [{ field: formatPath(path), value: valueAt(raw, path), expectation: expectationOf(issue) }];
}

function expectationOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return 'a non-empty string';
      if (issue.origin === 'number') return `a number ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
      return `at least ${issue.minimum} ${issue.origin === 'string' ? 'characters' : 'items'}`;
    case 'too_big':
      if (issue.origin === 'number') return `a number ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
      return `at most ${issue.maximum} ${issue.origin === 'string' ? 'characters' : 'items'}`;
    default:
      return issue.message;
  }
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(input)';
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}
