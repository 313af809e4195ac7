import { describe, expect, it } from 'vitest';
import { ReportInputError } from './errors.js';
import { parseReportInput, type ReportInput } from './model.js';
import { renderReport } from './render.js';
import { sampleReportInput } from './sample.js';

/** The sample with one change applied to a deep copy; `unknown` because the point is to break the types. */
function withChange(change: (input: Record<string, unknown> & ReportInput) => void): unknown {
  const input = structuredClone(sampleReportInput()) as Record<string, unknown> & ReportInput;
  change(input);
  return input;
}

function rejection(raw: unknown): ReportInputError {
  try {
    parseReportInput(raw);
  } catch (err) {
    if (err instanceof ReportInputError) return err;
    throw err;
  }
  throw new Error('the input was accepted');
}

describe('parseReportInput', () => {
  it('accepts the sample and keeps it as it was', () => {
    const input = sampleReportInput();
    expect(parseReportInput(input)).toEqual(input);
  });

  it('checks the timeline: lifecycle kinds, rate counts, and a violation time', () => {
    const kind = rejection(
      withChange((i) => {
        (i.timeline!.instances[1]!.events[2] as { kind: string }).kind = 'exploded';
      }),
    );
    expect(kind.field).toBe('timeline.instances[1].events[2].kind');
    expect(kind.message).toContain('one of "running", "started"');
    const count = rejection(withChange((i) => (i.timeline!.rates[0]!.counts[4] = -1)));
    expect(count.field).toBe('timeline.rates[0].counts[4]');
    const bin = rejection(withChange((i) => (i.timeline!.binMs = 0)));
    expect(bin.field).toBe('timeline.binMs');
    const at = rejection(withChange((i) => ((i.verdicts[1]!.violatedAt as Record<string, unknown>).exact = true)));
    expect(at.field).toBe('verdicts[1].violatedAt.exact');
    expect(at.problems[0].expectation).toBe('no such field (unknown key)');
  });

  it('names a missing field', () => {
    const err = rejection(withChange((i) => delete (i as Partial<ReportInput>).title));
    expect(err.field).toBe('title');
    expect(err.value).toBeUndefined();
    expect(err.message).toContain('title: expected string (got undefined)');
  });

  it('names a deep field and its value', () => {
    const err = rejection(
      withChange((i) => {
        (i.charts[1]!.series[1]!.points[3] as unknown[])[1] = 'fast';
      }),
    );
    expect(err.field).toBe('charts[1].series[1].points[3][1]');
    expect(err.value).toBe('fast');
    expect(err.message).toContain('charts[1].series[1].points[3][1]: expected number (got "fast")');
  });

  it('shows NaN as NaN, not as the null JSON would print', () => {
    const err = rejection(
      withChange((i) => {
        i.charts[0]!.series[0]!.points[0]![0] = Number.NaN;
      }),
    );
    expect(err.field).toBe('charts[0].series[0].points[0][0]');
    expect(err.message).toContain('(got NaN)');
  });

  it('rejects an outcome outside the list, listing the allowed ones', () => {
    const err = rejection(withChange((i) => ((i as Record<string, unknown>).outcome = 'green')));
    expect(err.field).toBe('outcome');
    expect(err.value).toBe('green');
    expect(err.message).toMatch(/one of "valid", "invalid", "unknown", "passed", "failed"/);
  });

  it('accepts true, false and "unknown" as a verdict, nothing else', () => {
    const err = rejection(withChange((i) => ((i.verdicts[2] as Record<string, unknown>).valid = 'maybe')));
    expect(err.field).toBe('verdicts[2].valid');
    expect(err.message).toContain('expected true, false or "unknown" (got "maybe")');
  });

  it('rejects a run that ends before it starts', () => {
    const err = rejection(withChange((i) => (i.endedAt = i.startedAt - 1)));
    expect(err.field).toBe('endedAt');
  });

  it('rejects a fault that ends before it starts, but accepts one without an end', () => {
    const err = rejection(withChange((i) => (i.faults[1]!.end = i.faults[1]!.start - 5)));
    expect(err.field).toBe('faults[1].end');
    expect(() => parseReportInput(withChange((i) => delete i.faults[1]!.end))).not.toThrow();
  });

  it('rejects two charts with one id', () => {
    const err = rejection(withChange((i) => (i.charts[2]!.id = i.charts[0]!.id)));
    expect(err.field).toBe('charts[2].id');
    expect(err.value).toBe('throughput');
  });

  it('rejects a chart id that cannot be an element id', () => {
    const err = rejection(withChange((i) => (i.charts[0]!.id = 'a b"')));
    expect(err.field).toBe('charts[0].id');
  });

  it('rejects an unknown key instead of dropping it', () => {
    const err = rejection(withChange((i) => (i.replayCmd = 'npm run lab')));
    expect(err.field).toBe('replayCmd');
    expect(err.value).toBe('npm run lab');
  });

  it.each([
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    'https://example.com/x.log',
    '//example.com/x',
    'file:///etc/passwd',
  ])('rejects the log link %s (links must be relative)', (href) => {
    const err = rejection(withChange((i) => (i.logs[0]!.href = href)));
    expect(err.field).toBe('logs[0].href');
    expect(err.value).toBe(href);
  });

  it('accepts relative log links', () => {
    expect(() => parseReportInput(withChange((i) => (i.logs[0]!.href = '../session/logs/a b.log')))).not.toThrow();
  });

  it('lists further problems after the first', () => {
    const err = rejection(
      withChange((i) => {
        (i as Record<string, unknown>).kind = 'soak';
        i.facts[0]!.value = 3 as unknown as string;
      }),
    );
    expect(err.problems.map((p) => p.field)).toEqual(['kind', 'facts[0].value']);
    expect(err.message).toContain('and 1 more: facts[0].value: expected string (got 3)');
  });
});

describe('renderReport validates at the entry', () => {
  it('throws the input error naming the field and the value', () => {
    const bad = withChange((i) => (i.charts[0]!.unit = 5 as unknown as string));
    expect(() => renderReport(bad as ReportInput)).toThrow(ReportInputError);
    expect(() => renderReport(bad as ReportInput)).toThrow('charts[0].unit: expected string (got 5)');
  });
});
