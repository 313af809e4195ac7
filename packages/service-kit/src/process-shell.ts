/**
 * The process shell every service's entry point runs in, written once: read
 * the configuration, start, and shut down cleanly on SIGTERM/SIGINT.
 *
 * - A configuration error exits 2 with one line, `<name>: invalid
 *   configuration: <message>` (the message names the variable and the value).
 * - A start-up failure is logged as fatal and exits 1.
 * - The first SIGTERM or SIGINT stops the service (it drains) and exits 0; a
 *   stop that fails, or takes longer than the configured shutdown timeout,
 *   exits 1. Later signals are ignored while it drains.
 */

/** The logger calls the shell makes (pino's shape). */
export interface ShellLogger {
  info(obj: object, msg: string): void;
  info(msg: string): void;
  error(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
  /** Writes out what is buffered, then calls back (pino's asynchronous destinations buffer). */
  flush?(cb?: (err?: Error) => void): void;
}

/** What the shell needs of a configuration. */
export interface ShellConfig {
  readonly shutdownTimeoutMs: number;
}

export interface ServiceShell<C extends ShellConfig, L extends ShellLogger> {
  /** The service's name, first word of its one-line errors (`coordinator`, `ingest`). */
  readonly name: string;
  /** Reads and validates the configuration (throws the service's configuration error). */
  loadConfig(): C;
  /** True for the service's configuration error (exit 2), false for anything else. */
  isConfigError(err: unknown): boolean;
  createLogger(config: C): L;
  start(config: C, log: L): Promise<{ stop(): Promise<void> }>;
}

/** Runs `read`; a configuration error is printed as one line and the process exits 2. Anything else is rethrown. */
export function exitOnConfigError<T>(name: string, isConfigError: (err: unknown) => boolean, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (isConfigError(err)) {
      process.stderr.write(`${name}: invalid configuration: ${(err as Error).message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export async function runService<C extends ShellConfig, L extends ShellLogger>(
  shell: ServiceShell<C, L>,
): Promise<void> {
  const config = exitOnConfigError(shell.name, shell.isConfigError, () => shell.loadConfig());
  const log = shell.createLogger(config);
  // The last lines (`stopped`, a fatal error) must reach stdout before the exit. The services log synchronously;
  // a logger that buffers (pino's default destination) is flushed first, for at most a second.
  const exit = (code: number): void => {
    if (typeof log.flush !== 'function') process.exit(code);
    process.exitCode = code; // should the loop empty first
    const timer = setTimeout(() => process.exit(code), 1000);
    timer.unref();
    log.flush(() => process.exit(code));
  };
  let running: { stop(): Promise<void> };
  try {
    running = await shell.start(config, log);
  } catch (err) {
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, `${shell.name} failed to start`);
    return exit(1);
  }
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    running.stop().then(
      () => {
        log.info('stopped');
        exit(0);
      },
      (err: unknown) => {
        log.error({ err: String(err) }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
