/**
 * The report's error tree. Every error says whether trying again could help (`retriable`) and carries what the
 * caller needs in readonly fields.
 */
import { ChaosLabError, showValue } from '@chaos-lab/errors';
export class ReportError extends ChaosLabError {}

/** One problem with a report's input: where it is, what was there, and what was expected. */
export interface InputProblem {
  /** A path such as `charts[0].series[1].points[3][0]`. */
  readonly field: string;
  /** The value found there (`undefined` when the field is missing). */
  readonly value: unknown;
  readonly expectation: string;
}

/** The input to `renderReport` did not match the model. `field` and `value` name the first problem. */
export class ReportInputError extends ReportError {
  readonly field: string;
  readonly value: unknown;
  constructor(readonly problems: readonly [InputProblem, ...InputProblem[]]) {
    const [first] = problems;
    const more =
      problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1, 4).map(describe).join('; ')})` : '';
    super(`invalid report input: ${describe(first)}${more}`);
    this.field = first.field;
    this.value = first.value;
  }
}

/** Chromium is not where the browser checks expect it. */
export class ChromiumNotFoundError extends ReportError {
  constructor(
    readonly executablePath: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      `Chromium not found at ${executablePath}: the report's browser checks need it (Debian: apt-get install chromium)`,
      options,
    );
  }
}

function describe(p: InputProblem): string {
  // Long values (a whole points array) are cut at 120 characters so the message stays readable.
  return `${p.field}: expected ${p.expectation} (got ${showValue(p.value, 120)})`;
}
