/**
 * The process shell shared by the entry points (`main.ts`, and the lab-only
 * `variants/main.ts`): read the configuration, start, and shut down cleanly
 * on SIGTERM/SIGINT (exit 0). A configuration error exits 2 with one line
 * naming the variable; a start-up failure exits 1.
 */
import type { Logger } from 'pino';
import { loadConfig, type CoordinatorConfig } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import type { RunningCoordinator } from './service.js';

/** Runs `read`; on a {@link ConfigError} prints one line naming the variable and exits 2. */
export function exitOnConfigError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`coordinator: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export async function runService(
  start: (config: CoordinatorConfig, log: Logger) => Promise<RunningCoordinator>,
): Promise<void> {
  const config = exitOnConfigError(() => loadConfig());
  const log = createLogger(config.logLevel, config.instanceId);
  let running: RunningCoordinator;
  try {
    running = await start(config, log);
  } catch (err) {
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'coordinator failed to start');
    process.exit(1);
  }
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    running.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
