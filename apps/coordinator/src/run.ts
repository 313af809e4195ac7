/**
 * The coordinator's process shell, shared by its entry points (`main.ts`, and
 * the lab-only `variants/main.ts`): the service kit's shell (configuration
 * error → exit 2 with one line naming the variable; start-up failure → exit
 * 1; SIGTERM/SIGINT → drain, exit 0) bound to the coordinator's
 * configuration, error type and logger.
 */
import type { Logger } from 'pino';
import { exitOnConfigError as exitOnError, runService as runShell } from '@chaos-lab/service-kit';
import { loadConfig, type CoordinatorConfig } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import type { RunningCoordinator } from './service.js';

const isConfigError = (err: unknown) => err instanceof ConfigError;

/** Runs `read`; on a {@link ConfigError} prints one line naming the variable and exits 2. */
export function exitOnConfigError<T>(read: () => T): T {
  return exitOnError('coordinator', isConfigError, read);
}

export function runService(
  start: (config: CoordinatorConfig, log: Logger) => Promise<RunningCoordinator>,
): Promise<void> {
  return runShell({
    name: 'coordinator',
    loadConfig: () => loadConfig(),
    isConfigError,
    createLogger: (config) => createLogger(config.logLevel, config.instanceId),
    start,
  });
}
