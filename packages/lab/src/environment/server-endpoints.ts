/**
 * What every provider hands out from its three servers: their endpoints, and
 * the settings a coordinator needs to reach them directly (instances go
 * through their own proxied links instead).
 */
import type { EnvironmentKafka, StartedEnvironment, StartedPostgresServer, StartedRedisServer } from './contract.js';

export function serverEndpoints(
  redis: StartedRedisServer,
  postgres: StartedPostgresServer,
  kafka: EnvironmentKafka,
  opts: {
    readonly idempotentProducer: boolean;
    /** The consumer's fetch wait, for a broker that holds every fetch that long even when data arrives. */
    readonly fetchMaxWaitMs?: number;
  },
): Pick<StartedEnvironment, 'endpoints' | 'coordinatorEnv'> {
  return {
    endpoints: {
      redisUrl: redis.url,
      postgresUrl: postgres.connectionString(),
      kafkaBrokers: kafka.bootstrapServers,
    },
    coordinatorEnv: () => ({
      COORDINATOR_REDIS_URL: redis.url,
      COORDINATOR_POSTGRES_URL: postgres.connectionString(),
      COORDINATOR_KAFKA_BROKERS: kafka.bootstrapServers.join(','),
      COORDINATOR_KAFKA_IDEMPOTENT: String(opts.idempotentProducer),
      ...(opts.fetchMaxWaitMs !== undefined && { COORDINATOR_KAFKA_MAX_WAIT_MS: String(opts.fetchMaxWaitMs) }),
    }),
  };
}
