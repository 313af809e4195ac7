/** `@chaos-lab/report/browser`: checks a written report in headless Chromium (see browser-check.ts). */
export {
  checkReportInBrowser,
  launchChromium,
  reportProblems,
  DEFAULT_CHROMIUM_PATH,
  CHROMIUM_ARGS,
  type CheckReportOptions,
  type LaunchChromiumOptions,
  type ReportCheck,
  type ChartCheck,
  type TimelineCheck,
} from './browser-check.js';
export { ChromiumNotFoundError } from './errors.js';
export { screenshotTimeline, type ScreenshotOptions } from './screenshot.js';
