/**
 * The timeline's exact bytes for fixed inputs, kept in `__snapshots__/timeline/`: any change to how it is drawn
 * (the SVG, its legend and caption) fails here with a diff to review, even where the markup and browser tests
 * still pass. After a change made on purpose, read the diff, then update the files with
 * `npx vitest run --project unit packages/report -u`.
 */
import { describe, expect, it } from 'vitest';
import { fiveSeconds } from './five-seconds.test-support.js';
import type { ReportInput } from './model.js';
import { renderReport } from './render.js';

/** The timeline section of the page, drawn through renderReport (which places the axis and the faults). */
function timelineOf(input: ReportInput): string {
  const m = /<section id="timeline">[\s\S]*?<\/section>/.exec(renderReport(input));
  expect(m, 'the timeline section').not.toBeNull();
  return `${m![0]}\n`;
}

/** No fault, no instance, no rate; checkers that passed or could not decide. */
function quietRun(): ReportInput {
  const input = fiveSeconds();
  return {
    ...input,
    faults: [],
    timeline: { binMs: 100, rates: [], instances: [] },
    verdicts: input.verdicts
      .filter((v) => v.valid !== false)
      .concat({ checker: 'outputs-well-formed', valid: 'unknown', summary: '?', counterexamples: [] }),
  };
}

/** A fault that lasted to the end, one of no one target, an instance paused and resumed; no checker. */
function openFaults(): ReportInput {
  const input = fiveSeconds();
  const t0 = input.startedAt;
  return {
    ...input,
    faults: [
      ...input.faults,
      { label: 'pause coordinator-3', kind: 'pause', target: 'coordinator-3', start: t0 + 700 },
      { label: 'redis restart', kind: 'redis-restart', start: t0 + 3000, end: t0 + 3400 },
    ],
    timeline: {
      binMs: 100,
      rates: [],
      instances: [
        {
          id: 'coordinator-3',
          events: [
            { time: t0 - 5000, kind: 'started' },
            { time: t0 + 700, kind: 'paused' },
            { time: t0 + 1500, kind: 'resumed' },
            { time: t0 + 4900, kind: 'stopping' },
          ],
        },
      ],
    },
    verdicts: [],
  };
}

describe('timeline golden files', () => {
  it.each([
    ['five-seconds', fiveSeconds],
    ['quiet-run', quietRun],
    ['open-faults', openFaults],
  ])('%s draws exactly as recorded', async (name, input) => {
    await expect(timelineOf(input())).toMatchFileSnapshot(`__snapshots__/timeline/${name}.html`);
  });
});
