/**
 * @chaos-lab/service-kit — what the deployable services (apps/coordinator, apps/ingest) share, so each is
 * written once: environment configuration and versioned Postgres migrations. No runtime dependency but zod.
 */
export { envBool, envInt, envBrokers, envLogLevel, parseEnv, type EnvSpec, type EnvValues } from './env-config.js';
export { runMigrations, type Migration, type MigrationOptions, type SqlClient } from './migrations.js';
