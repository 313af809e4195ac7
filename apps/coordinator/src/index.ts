export { loadConfig, type CoordinatorConfig } from './config.js';
export { startCoordinator, type CoordinatorOverrides, type RunningCoordinator } from './service.js';
export { CoordinatorError, ConfigError, DependencyError, StateConflictError } from './errors.js';
