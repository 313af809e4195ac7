/**
 * Configuration: read from `INGEST_*` environment variables once, at
 * start-up, and validated; an error names the variable and the bad value.
 * Everything inward receives the typed {@link IngestConfig}.
 */
import { z } from 'zod';
import { envBool as bool, envBrokers, envInt as int, envLogLevel, parseEnv } from '@chaos-lab/service-kit';
import { ConfigError } from './errors.js';

/** Variable name → schema (with its default). The variable names are the public interface. */
const spec = {
  INGEST_INSTANCE_ID: z.string().min(1).max(100).default(`ingest-${process.pid}`),
  INGEST_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  /** 0 lets the kernel pick a free port (logged at start as `port`). */
  INGEST_HTTP_PORT: int(0, 65535).default(8081),
  INGEST_POSTGRES_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://'),
  INGEST_POSTGRES_POOL_SIZE: int(1, 100).default(10),
  INGEST_KAFKA_BROKERS: envBrokers,
  INGEST_KAFKA_CLIENT_ID: z.string().min(1).default('ingest'),
  /** Idempotent producer. The librdkafka mock broker cannot serve it: the lab sets false. */
  INGEST_KAFKA_IDEMPOTENT: bool.default(true),
  INGEST_TOPIC_PREFIX: z.string().max(100).default(''),
  INGEST_MAX_TEXT_BYTES: int(1, 100 * 1024 * 1024).default(1024 * 1024),
  INGEST_MAX_BODY_BYTES: int(1024, 200 * 1024 * 1024).default(2 * 1024 * 1024),
  /** The outbox relay's fallback poll (a commit wakes it at once) and its pause after a failed pass. */
  INGEST_OUTBOX_POLL_MS: int(10, 60_000).default(200),
  /** Outbox rows per relay pass and per send. */
  INGEST_OUTBOX_BATCH_SIZE: int(1, 10_000).default(200),
  INGEST_LOG_LEVEL: envLogLevel.default('info'),
  INGEST_SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
} as const;

export interface IngestConfig {
  readonly instanceId: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly postgres: { readonly url: string; readonly poolSize: number };
  readonly kafka: {
    readonly brokers: string[];
    readonly clientId: string;
    readonly idempotent: boolean;
    readonly topicPrefix: string;
  };
  /** Largest essay text (UTF-8 bytes) that is provisioned; a longer one is reported as a validation failure. */
  readonly maxTextBytes: number;
  /** Largest request body; a bigger one is refused with 413 before it is parsed. */
  readonly maxBodyBytes: number;
  readonly outbox: { readonly pollMs: number; readonly batchSize: number };
  readonly logLevel: string;
  readonly shutdownTimeoutMs: number;
}

/** Reads and validates the configuration; throws {@link ConfigError} naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const c = parseEnv(spec, env, (variable, value, problem) => new ConfigError(variable, value, problem));
  // A text that can never fit in a body would make the text limit a lie.
  if (c.INGEST_MAX_TEXT_BYTES >= c.INGEST_MAX_BODY_BYTES) {
    throw new ConfigError(
      'INGEST_MAX_TEXT_BYTES',
      String(c.INGEST_MAX_TEXT_BYTES),
      `must be smaller than INGEST_MAX_BODY_BYTES (${c.INGEST_MAX_BODY_BYTES})`,
    );
  }
  return {
    instanceId: c.INGEST_INSTANCE_ID,
    http: { host: c.INGEST_HTTP_HOST, port: c.INGEST_HTTP_PORT },
    postgres: { url: c.INGEST_POSTGRES_URL, poolSize: c.INGEST_POSTGRES_POOL_SIZE },
    kafka: {
      brokers: c.INGEST_KAFKA_BROKERS,
      clientId: c.INGEST_KAFKA_CLIENT_ID,
      idempotent: c.INGEST_KAFKA_IDEMPOTENT,
      topicPrefix: c.INGEST_TOPIC_PREFIX,
    },
    maxTextBytes: c.INGEST_MAX_TEXT_BYTES,
    maxBodyBytes: c.INGEST_MAX_BODY_BYTES,
    outbox: { pollMs: c.INGEST_OUTBOX_POLL_MS, batchSize: c.INGEST_OUTBOX_BATCH_SIZE },
    logLevel: c.INGEST_LOG_LEVEL,
    shutdownTimeoutMs: c.INGEST_SHUTDOWN_TIMEOUT_MS,
  };
}
