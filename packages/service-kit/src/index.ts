/**
 * @chaos-lab/service-kit — what the deployable services (apps/coordinator, apps/ingest) share, so each is
 * written once: environment configuration, versioned Postgres migrations and the entry points' process shell
 * (configuration errors, start-up failure, signals and drain). No runtime dependency but zod.
 */
export { envBool, envInt, envBrokers, envLogLevel, parseEnv, type EnvSpec, type EnvValues } from './env-config.js';
export { runMigrations, type Migration, type MigrationOptions, type SqlClient } from './migrations.js';
export {
  exitOnConfigError,
  runService,
  type ServiceShell,
  type ShellConfig,
  type ShellLogger,
} from './process-shell.js';
export { isRetriableKafkaError } from './kafka-errors.js';
export { storableText } from './pg-text.js';
