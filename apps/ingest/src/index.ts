export { loadConfig, type IngestConfig } from './config.js';
export { startIngest, type RunningIngest } from './service.js';
export { createLogger } from './logger.js';
export { createMetrics, type Metrics } from './metrics.js';
export { eventIds, textStorageIdFor, textProblem } from './domain/ingest.js';
export { IngestError, ConfigError, RequestError, ConflictError, DependencyError } from './errors.js';
