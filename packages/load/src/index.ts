export {
  profileSchema,
  parseProfile,
  loadProfile,
  arrivalDurationMs,
  ProfileError,
  type Profile,
  type ArrivalConfig,
  type ProfileIssue,
} from './profile.js';
export {
  RequestPlan,
  PlanLedger,
  PlanOptionsError,
  planExpectations,
  toHttp,
  essayText,
  DEFAULT_OPEN_BATCHES,
  DUPLICATE_WINDOW,
  BATCH_ID_PATTERN,
  BATCH_ID_MAX_LENGTH,
  type PlanOptions,
  type PlanProfile,
  type PlannedRequest,
  type RegisterRequest,
  type UploadRequest,
  type RequestName,
  type HttpRequestSpec,
  type BatchExpectation,
} from './plan.js';
export {
  runDriver,
  DriverOptionsError,
  type DriverOptions,
  type DriverHooks,
  type DriverResult,
  type DriverBatch,
  type ResponseEvent,
  type ScheduleReport,
  type RemoteWriteReport,
} from './driver.js';
export { formatSummary, formatBytes, type SummaryInput } from './summary.js';
export {
  evaluateThresholds,
  parseThreshold,
  parseThresholds,
  ThresholdSyntaxError,
  type ParsedThreshold,
  type ThresholdOperator,
  type ThresholdReport,
  type ThresholdResult,
  type MetricSource,
} from './thresholds.js';
export {
  BUILTIN_METRICS,
  percentile,
  summarize,
  type BuiltinMetric,
  type MetricType,
  type MetricSamples,
  type MetricSummary,
} from './metrics.js';
export { LoadError } from './errors.js';
export { k6Series, pushSeries, RemoteWriteError, type RemoteSeries } from './remote-write.js';
export { ArrivalSchedule } from './schedule.js';
export { parseDuration, formatDuration } from './duration.js';
export type { ClientKind } from './transport.js';
