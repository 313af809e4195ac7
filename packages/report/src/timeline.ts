/**
 * The run's timeline: one inline SVG, drawn here on the server (no script needed to see it), on one time axis
 * in seconds from the run's start. Top to bottom:
 *
 * - violations: each failing checker at the time of its first counterexample, a link to its verdict row (a
 *   checker whose counterexamples carry no time is marked, hollow, at the end of the run, and says so);
 * - faults: one lane per target and kind, one numbered bar per fault window (a fault without an end fades out
 *   at the run's end);
 * - instances: one lane each, a band for its state (up, paused, down) and a glyph per event — what the lab did
 *   to it above the band (asked to stop, killed, paused, resumed), what the process did on it (started, ready,
 *   joined its group, exited);
 * - inputs and outputs per second, binned finely (100 ms for a chaos seed), fault windows shaded behind them.
 *
 * Everything has a hover title. Colours and strokes are presentation attributes, not CSS, so the SVG is whole
 * on its own: the browser check renders it to a canvas to count its pixels, and a copy of it still reads.
 * The geometry is fixed (a 1160-unit wide view box, scaled to the page) and exposed on the element
 * (`data-x0`, `data-x1`, `data-start`, `data-end`), so the page's script can line the charts up under it and
 * draw their cursor on it.
 *
 * This module stacks the sections and draws the frame around them; each section is drawn by its module in
 * `timeline/` (`layout.ts`: the geometry, axis and grid they share; `violations.ts`, `faults.ts`,
 * `instances.ts`, `rates.ts`; `legend.ts`: the key under the figure).
 */
import { escapeHtml as esc, formatDuration } from './format.js';
import type { ReportInput } from './model.js';
import { faultsSlice, type PlacedFault } from './timeline/faults.js';
import { instancesSlice } from './timeline/instances.js';
import {
  AXIS_ROW_H,
  axisRow,
  FONT,
  gridLines,
  INK,
  layoutOf,
  PLOT_X0,
  PLOT_X1,
  separator,
  TIMELINE_WIDTH,
  type TimelineAxis,
} from './timeline/layout.js';
import { legend } from './timeline/legend.js';
import { ratePanel } from './timeline/rates.js';
import { placeViolations, violationLines, violationsLane } from './timeline/violations.js';

export { TIMELINE_WIDTH, PLOT_X0, PLOT_X1, type TimelineAxis } from './timeline/layout.js';
export type { PlacedFault } from './timeline/faults.js';
export { verdictRowIds, spreadMarkers } from './timeline/violations.js';
export { niceCeil } from './timeline/rates.js';

/** The timeline figure: the SVG and its legend. */
export function timelineSection(input: ReportInput, axis: TimelineAxis, faults: readonly PlacedFault[]): string {
  const span = axis.end - axis.start;
  const L = layoutOf(input, axis);
  const violations = placeViolations(input, axis);
  const timeline = input.timeline;
  const parts: string[] = [];
  const back: string[] = []; // under everything: grid and shading
  let y = 0;

  parts.push(axisRow(L, y, 'top'));
  y += AXIS_ROW_H;
  const bodyTop = y;

  // Violations: the lane's label in its place, its pins last (over everything else).
  let pins = '';
  let violationsY = -1;
  if (input.verdicts.length > 0) {
    violationsY = y;
    const lane = violationsLane(L, y, violations);
    parts.push(lane.label);
    pins = lane.pins;
    y += lane.height;
  }

  parts.push(separator(y));
  const faultRows = faultsSlice(L, y, faults);
  parts.push(faultRows.svg);
  y += faultRows.height;

  const lanes = timeline?.instances ?? [];
  if (lanes.length > 0) {
    parts.push(separator(y));
    const instanceRows = instancesSlice(L, y, lanes);
    parts.push(instanceRows.svg);
    y += instanceRows.height;
  }

  const rates = timeline?.rates ?? [];
  for (const group of ['inputs', 'outputs'] as const) {
    const series = rates.filter((r) => r.group === group);
    if (series.length === 0) continue;
    parts.push(separator(y));
    const panel = ratePanel(L, y, group, series, timeline!.binMs, faults);
    back.push(panel.shading);
    parts.push(panel.svg);
    y += panel.height;
  }

  parts.push(separator(y));
  const bodyBottom = y;
  parts.push(axisRow(L, y, 'bottom'));
  y += AXIS_ROW_H;
  const height = y;

  // Grid lines and violation lines span the body.
  const grid = gridLines(L, bodyTop, bodyBottom);
  const lines = violationLines(L, violations, violationsY, bodyBottom);

  const summary = `Timeline of ${input.title}: ${faults.length} fault${faults.length === 1 ? '' : 's'}, ${lanes.length} instance${lanes.length === 1 ? '' : 's'}, ${violations.length} violation${violations.length === 1 ? '' : 's'}, ${formatDuration(span)}`;
  const svg = `<svg class="timeline-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${TIMELINE_WIDTH} ${height}" width="100%" role="img" aria-label="${esc(summary)}" font-family="${esc(FONT)}" font-size="11.5" fill="${INK}" data-x0="${PLOT_X0}" data-x1="${PLOT_X1}" data-width="${TIMELINE_WIDTH}" data-start="${axis.start}" data-end="${axis.end}" data-bin-ms="${timeline?.binMs ?? 0}" data-violations="${violations.length}"><title>${esc(summary)}</title><rect x="0" y="0" width="${TIMELINE_WIDTH}" height="${height}" fill="#fff"/>${back.join('')}${grid}${parts.join('')}${lines}${pins}<line class="tl-cursor" x1="0" x2="0" y1="${bodyTop}" y2="${bodyBottom}" stroke="#374151" stroke-width="1" visibility="hidden"/></svg>`;

  return `<section id="timeline"><h2>Timeline</h2>
<figure class="panel timeline-card" id="run-timeline">${svg}
${legend(input, rates)}
${timeline?.note === undefined ? '' : `<figcaption class="hint tl-note">${esc(timeline.note)}</figcaption>`}
</figure>
</section>`;
}
