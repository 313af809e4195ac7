#!/usr/bin/env node
/**
 * Entry point of the deployable ingest service: read the configuration,
 * start, and shut down cleanly on SIGTERM/SIGINT (exit 0). A configuration
 * error exits 2 with one line naming the variable and the value; a start-up
 * failure (Postgres or Kafka unreachable) exits 1. The shell is the service
 * kit's, shared with the coordinator.
 */
import { runService } from '@chaos-lab/service-kit';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import { startIngest } from './service.js';

void runService({
  name: 'ingest',
  loadConfig: () => loadConfig(),
  isConfigError: (err) => err instanceof ConfigError,
  createLogger: (config) => createLogger(config.logLevel, config.instanceId),
  start: (config, log) => startIngest(config, log),
});
