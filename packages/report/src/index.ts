/**
 * `@chaos-lab/report`: one self-contained HTML page per chaos or load run (see README.md). The browser checks
 * live at `@chaos-lab/report/browser`, so that rendering never loads playwright-core.
 */
export {
  reportInputSchema,
  parseReportInput,
  type ReportInput,
  type Fact,
  type Fault,
  type Chart,
  type Series,
  type Verdict,
  type Threshold,
  type LogLink,
  type Outcome,
  type Timeline,
  type RateSeries,
  type InstanceLane,
  type LifecycleEvent,
  type LifecycleKind,
  LIFECYCLE_KINDS,
} from './model.js';
export { renderReport, writeReport, COUNTEREXAMPLES_SHOWN, SERIES_COLORS, FAULT_COLORS } from './render.js';
export { escapeHtml, jsonForScript } from './format.js';
export { TIMELINE_WIDTH, PLOT_X0, PLOT_X1, verdictRowIds } from './timeline.js';
export { ReportError, ReportInputError, ChromiumNotFoundError, type InputProblem } from './errors.js';
export { sampleReportInput } from './sample.js';
