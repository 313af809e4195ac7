#!/usr/bin/env node
/**
 * Entry point of the deployable coordinator: read the configuration, start,
 * and shut down cleanly on SIGTERM/SIGINT (exit 0). A configuration error
 * exits 2 with one line naming the variable; a start-up failure exits 1
 * (see `run.ts`). It starts the production adapters only: the lab's
 * known-bad variants have their own entry point, `variants/main.ts`.
 */
import { runService } from './run.js';
import { startCoordinator } from './service.js';

void runService((config, log) => startCoordinator(config, log));
