/**
 * Configuration: read from `COORDINATOR_*` environment variables once, at
 * start-up, and validated; an error names the variable and the bad value.
 * Everything inward receives the typed {@link CoordinatorConfig}.
 */
import { z } from 'zod';
import { KAFKA_MESSAGE_MAX_BYTES } from '@chaos-lab/contracts';
import { envBool as bool, envBrokers, envInt as int, envLogLevel, parseEnv } from '@chaos-lab/service-kit';
import { ConfigError } from './errors.js';
import { parseFailpoints, type FailpointName } from './failpoints.js';
import { DEFAULT_PARKED_RETENTION_MS, DEFAULT_PARKED_TTL_MS } from './domain/coordinator.js';

/** Variable name → schema (with its default). The variable names are the public interface. */
const spec = {
  COORDINATOR_INSTANCE_ID: z.string().min(1).max(100).default(`coordinator-${process.pid}`),
  COORDINATOR_HTTP_PORT: int(0, 65535).default(8080),
  COORDINATOR_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  COORDINATOR_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
  COORDINATOR_REDIS_KEY_PREFIX: z.string().max(50).default('bc:'),
  COORDINATOR_REDIS_COMMAND_TIMEOUT_MS: int(10, 60_000).default(2000),
  COORDINATOR_POSTGRES_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://'),
  COORDINATOR_POSTGRES_POOL_SIZE: int(1, 100).default(10),
  COORDINATOR_POSTGRES_STATEMENT_TIMEOUT_MS: int(100, 600_000).default(5000),
  COORDINATOR_KAFKA_BROKERS: envBrokers,
  COORDINATOR_KAFKA_CLIENT_ID: z.string().min(1).default('batch-coordinator'),
  COORDINATOR_KAFKA_GROUP_ID: z.string().min(1).default('batch-coordinator'),
  COORDINATOR_TOPIC_PREFIX: z.string().max(100).default(''),
  /** Idempotent producer (exactly-once per partition from the producer's side). The librdkafka mock broker cannot serve it. */
  COORDINATOR_KAFKA_IDEMPOTENT: bool.default(true),
  /**
   * How long a fetch waits for data. A broker answers as soon as data arrives, so this costs no latency: it is
   * how often an idle consumer asks each broker. (The lab's mock broker waits the full time: the lab sets 100.)
   */
  COORDINATOR_KAFKA_MAX_WAIT_MS: int(1, 30_000).default(500),
  COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: int(1000, 300_000).default(10_000),
  COORDINATOR_KAFKA_HEARTBEAT_INTERVAL_MS: int(100, 60_000).default(1000),
  COORDINATOR_KAFKA_PARTITIONS_CONCURRENTLY: int(1, 64).default(4),
  /**
   * The broker's `message.max.bytes`, which the relay holds every output to itself (gzip-compressed size), so
   * that a broker that accepts more — the lab's — behaves like the real one. Default: Kafka's default.
   */
  COORDINATOR_KAFKA_MAX_MESSAGE_BYTES: int(1024, 100 * 1024 * 1024).default(KAFKA_MESSAGE_MAX_BYTES),
  COORDINATOR_OUTBOX_POLL_MS: int(10, 60_000).default(100),
  /** The relay's poll interval grows from COORDINATOR_OUTBOX_POLL_MS to this while passes find nothing. */
  COORDINATOR_OUTBOX_IDLE_POLL_MS: int(10, 600_000).default(2000),
  COORDINATOR_OUTBOX_BATCH_SIZE: int(1, 10_000).default(200),
  COORDINATOR_SWEEP_INTERVAL_MS: int(50, 600_000).default(1000),
  /** How long an input waits, parked, for a batch that is not registered before it is dead-lettered (it stays parked). */
  COORDINATOR_PARKED_TTL_MS: int(1000, 30 * 86_400_000).default(DEFAULT_PARKED_TTL_MS),
  /** How long a parked input is kept after that dead letter, for a late registration. */
  COORDINATOR_PARKED_RETENTION_MS: int(1000, 365 * 86_400_000).default(DEFAULT_PARKED_RETENTION_MS),
  COORDINATOR_LOG_LEVEL: envLogLevel.default('info'),
  COORDINATOR_SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(20_000),
  /** Test-harness fail-points (see failpoints.ts); never set in a deployment. */
  COORDINATOR_FAILPOINTS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseFailpoints(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
} as const;

export interface CoordinatorConfig {
  readonly instanceId: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly redis: { readonly url: string; readonly keyPrefix: string; readonly commandTimeoutMs: number };
  readonly postgres: { readonly url: string; readonly poolSize: number; readonly statementTimeoutMs: number };
  readonly kafka: {
    readonly brokers: string[];
    readonly clientId: string;
    readonly groupId: string;
    readonly topicPrefix: string;
    readonly idempotent: boolean;
    readonly maxWaitMs: number;
    readonly sessionTimeoutMs: number;
    readonly heartbeatIntervalMs: number;
    readonly partitionsConcurrently: number;
    /** Largest record batch the broker accepts (`message.max.bytes`); the relay sets aside any output over it. */
    readonly maxMessageBytes: number;
  };
  readonly outbox: { readonly pollMs: number; readonly idlePollMs: number; readonly batchSize: number };
  readonly sweepIntervalMs: number;
  readonly parkedTtlMs: number;
  readonly parkedRetentionMs: number;
  readonly logLevel: string;
  readonly shutdownTimeoutMs: number;
  readonly failpoints: Map<FailpointName, number>;
}

/** Reads and validates the configuration; throws {@link ConfigError} naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  const c = parseEnv(spec, env, (variable, value, problem) => new ConfigError(variable, value, problem));
  if (c.COORDINATOR_KAFKA_HEARTBEAT_INTERVAL_MS * 3 > c.COORDINATOR_KAFKA_SESSION_TIMEOUT_MS) {
    throw new ConfigError(
      'COORDINATOR_KAFKA_HEARTBEAT_INTERVAL_MS',
      String(c.COORDINATOR_KAFKA_HEARTBEAT_INTERVAL_MS),
      `must be at most a third of COORDINATOR_KAFKA_SESSION_TIMEOUT_MS (${c.COORDINATOR_KAFKA_SESSION_TIMEOUT_MS})`,
    );
  }
  return {
    instanceId: c.COORDINATOR_INSTANCE_ID,
    http: { host: c.COORDINATOR_HTTP_HOST, port: c.COORDINATOR_HTTP_PORT },
    redis: {
      url: c.COORDINATOR_REDIS_URL,
      keyPrefix: c.COORDINATOR_REDIS_KEY_PREFIX,
      commandTimeoutMs: c.COORDINATOR_REDIS_COMMAND_TIMEOUT_MS,
    },
    postgres: {
      url: c.COORDINATOR_POSTGRES_URL,
      poolSize: c.COORDINATOR_POSTGRES_POOL_SIZE,
      statementTimeoutMs: c.COORDINATOR_POSTGRES_STATEMENT_TIMEOUT_MS,
    },
    kafka: {
      brokers: c.COORDINATOR_KAFKA_BROKERS,
      clientId: c.COORDINATOR_KAFKA_CLIENT_ID,
      groupId: c.COORDINATOR_KAFKA_GROUP_ID,
      topicPrefix: c.COORDINATOR_TOPIC_PREFIX,
      idempotent: c.COORDINATOR_KAFKA_IDEMPOTENT,
      maxWaitMs: c.COORDINATOR_KAFKA_MAX_WAIT_MS,
      sessionTimeoutMs: c.COORDINATOR_KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: c.COORDINATOR_KAFKA_HEARTBEAT_INTERVAL_MS,
      partitionsConcurrently: c.COORDINATOR_KAFKA_PARTITIONS_CONCURRENTLY,
      maxMessageBytes: c.COORDINATOR_KAFKA_MAX_MESSAGE_BYTES,
    },
    outbox: {
      pollMs: c.COORDINATOR_OUTBOX_POLL_MS,
      idlePollMs: c.COORDINATOR_OUTBOX_IDLE_POLL_MS,
      batchSize: c.COORDINATOR_OUTBOX_BATCH_SIZE,
    },
    sweepIntervalMs: c.COORDINATOR_SWEEP_INTERVAL_MS,
    parkedTtlMs: c.COORDINATOR_PARKED_TTL_MS,
    parkedRetentionMs: c.COORDINATOR_PARKED_RETENTION_MS,
    logLevel: c.COORDINATOR_LOG_LEVEL,
    shutdownTimeoutMs: c.COORDINATOR_SHUTDOWN_TIMEOUT_MS,
    failpoints: c.COORDINATOR_FAILPOINTS,
  };
}
