/**
 * The environment contract: what a scenario, the nemesis, the instances and
 * the benches get from `startEnvironment`, whichever provider made it. Types
 * only; the providers (`local/`, `docker/`) implement it, `index.ts` chooses
 * one.
 *
 * Each component's surface is written for what the lab does with it. What a
 * provider may lack is an optional member — a Kafka that cannot move a
 * partition's leader has no `leaderMoves` — and callers check for it (or ask
 * `requireKafkaControl`, which says why it is missing). Which provider has
 * which control is decided in one place, `capabilities.ts`, which the
 * providers' types are checked against.
 */
import type { Links } from '../links/links.js';
import type { StartedPrometheus } from './local/prometheus-server.js';
import type { KafkaApi, KafkaErrorName } from './kafka-protocol.js';

export type ProviderName = 'local' | 'docker';

/** `none`: nothing is written to disk. `aof-always`: AOF with `appendfsync always`. */
export type RedisPersistence = 'none' | 'aof-always';

export interface EnvironmentOptions {
  /** Folder for the servers' log files (kept after the run). */
  readonly logDir: string;
  /** Kafka brokers in the cluster. Default 3. */
  readonly kafkaBrokers?: number;
  /** Default `'none'`: a Redis restart loses everything, as the coordinator must survive. */
  readonly redisPersistence?: RedisPersistence;
  /** Default: `LAB_PROVIDER`, else `local`. */
  readonly provider?: ProviderName;
  /** Start a Prometheus scraping the environment. Default: true unless `LAB_PROMETHEUS=0`. */
  readonly prometheus?: boolean;
  /** Prometheus' scrape interval. Default 1000 ms. */
  readonly scrapeIntervalMs?: number;
  /**
   * The local broker answers a Fetch as Kafka does (every stored batch up to the limits) through fronts before
   * librdkafka's mock (`local/fetch-front.ts`). Default: `LAB_KAFKA_FETCH_FRONT`, else on.
   */
  readonly kafkaFetchFront?: boolean;
}

export interface Endpoints {
  readonly redisUrl: string;
  readonly postgresUrl: string;
  readonly kafkaBrokers: readonly string[];
}

/** A running (or stopped) Redis. `stop()` and disposal are idempotent. */
export interface StartedRedisServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** `redis://HOST:PORT` */
  readonly url: string;
  /** Pid of the current server process (changes on restart). */
  readonly pid: number;
  readonly running: boolean;
  readonly persistence: RedisPersistence;
  readonly dataDir: string;
  readonly logFile: string;
  /** Stops the server and waits for the exit. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops the server if it runs and starts it again on the same port.
   * `keepData: false`: the server comes back empty. `keepData: true` keeps
   * what is on disk; with persistence `'none'` a running server is asked to
   * `SAVE` first so the data survives.
   */
  restart(options: { readonly keepData: boolean }): Promise<void>;
  /** A crash: no shutdown work at all; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Freezes the server (connections stay open, nothing is answered); resolves once it is frozen. */
  pause(): Promise<void>;
  /** Thaws the server after {@link pause}. */
  resume(): Promise<void>;
}

/** A running (or stopped) PostgreSQL. `stop()` and disposal are idempotent. */
export interface StartedPostgresServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** The superuser, `postgres` (trust authentication: no password). */
  readonly user: string;
  /** Pid of the current postmaster (changes on restart). */
  readonly pid: number;
  readonly running: boolean;
  /** Major version of the server, e.g. 15. */
  readonly majorVersion: number;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  /** `postgres://postgres@HOST:PORT/<database>`; `database` defaults to `postgres`. */
  connectionString(database?: string): string;
  /**
   * CREATE DATABASE; returns its connection string. The name must match
   * `^[a-z_][a-z0-9_]{0,62}$` (InvalidArgumentError on field `database` otherwise).
   */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown, waits for the exit. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server if it runs and starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Every server process killed at once (a crash); resolves once all are gone. */
  kill(): Promise<void>;
  /** Pids of the live server processes the provider can see. */
  processes(): number[];
  /** Freezes every server process (connections stay open, nothing is answered); resolves once frozen. */
  pause(): Promise<void>;
  /** Thaws the server after {@link pause}. */
  resume(): Promise<void>;
}

/** The Toxiproxy-API fault proxy every instance's Redis and Postgres links go through. */
export interface StartedFaultProxy {
  readonly url: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  stop(): Promise<void>;
}

/** Moves a partition's leadership (a cluster with one broker has nowhere to move it). */
export interface LeaderMoveControl {
  /** `brokerId` -1 leaves the partition without a leader. */
  setPartitionLeader(topic: string, partition: number, brokerId: number): Promise<void>;
}

/** Makes brokers answer the next requests of one API with chosen errors. */
export interface RequestErrorControl {
  /** The next `errors.length` requests of this API, to any broker, are answered with these errors in order. */
  pushRequestErrors(api: KafkaApi | number, errors: (KafkaErrorName | number)[]): Promise<void>;
  /** As {@link pushRequestErrors}, for one broker, whose stack can be read back. */
  pushBrokerRequestErrors(broker: number, api: KafkaApi | number, errors: (KafkaErrorName | number)[]): Promise<void>;
  /** How many errors pushed by `pushBrokerRequestErrors` are still waiting for a request of this API. */
  pendingRequestErrors(broker: number, api: KafkaApi): Promise<number>;
}

/** Delays every response of a broker. */
export interface BrokerRttControl {
  /** `ms` 0 removes the delay. */
  setBrokerRtt(id: number, ms: number): Promise<void>;
}

/** Pins the coordinator of a group or transactional id to a broker (with one broker, it is always that one). */
export interface CoordinatorPinControl {
  setCoordinator(keyType: 'group' | 'transaction', key: string, brokerId: number): Promise<void>;
}

/** Makes a topic report an error in Metadata responses. */
export interface TopicErrorControl {
  /** NO_ERROR / 0 clears it. */
  setTopicError(topic: string, error: KafkaErrorName | number): Promise<void>;
}

/** The Kafka controls a provider may lack, by name (`capabilities.ts` says which provider has which). */
export interface KafkaControls {
  readonly leaderMoves: LeaderMoveControl;
  readonly requestErrors: RequestErrorControl;
  readonly brokerRtt: BrokerRttControl;
  readonly coordinatorPins: CoordinatorPinControl;
  readonly topicErrors: TopicErrorControl;
}

export type KafkaControlName = keyof KafkaControls;

/**
 * A Kafka cluster as the lab drives it. Every provider can create topics and
 * take a broker down and up again; the other controls are optional.
 */
export interface EnvironmentKafka extends Partial<KafkaControls>, AsyncDisposable {
  /** `host:port` per broker, in broker id order, ready for kafkajs `brokers`. */
  readonly bootstrapServers: readonly string[];
  /** The broker ids a fault may name. More than one broker is a capability too (`kafkaBrokerIds`). */
  readonly brokerIds: readonly number[];
  readonly logFile: string;
  /** The broker host's process (the mock's host, or the container's main process), when it runs. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** The cluster's control API, for a provider that has one. */
  readonly controlUrl?: string;
  /** Creates a topic with an exact partition count; an existing topic is not an error. */
  createTopic(name: string, partitions: number, replicationFactor?: number): Promise<void>;
  /** Closes the broker's connections and refuses new ones until {@link setBrokerUp}. */
  setBrokerDown(id: number): Promise<void>;
  setBrokerUp(id: number): Promise<void>;
  /** Stops every broker. Idempotent. */
  stop(): Promise<void>;
}

export interface StartedEnvironment extends AsyncDisposable {
  readonly provider: ProviderName;
  readonly endpoints: Endpoints;
  readonly redis: StartedRedisServer;
  readonly postgres: StartedPostgresServer;
  /** The broker cluster: the local mock, or the docker provider's real broker. */
  readonly kafka: EnvironmentKafka;
  /** The Toxiproxy-API fault proxy every instance's Redis and Postgres links go through. */
  readonly faultProxy: StartedFaultProxy;
  /** Per-instance proxied links on the fault proxy. */
  readonly links: Links;
  /** The environment's Prometheus (absent when turned off). */
  readonly prometheus: StartedPrometheus | undefined;
  /** The temporary folder holding the servers' data (removed by `stop()`). */
  readonly workDir: string;
  /** Milliseconds from the call to `startEnvironment` to every component ready. */
  readonly startupMs: number;
  /**
   * Coordinator settings this environment requires. The mock broker reports
   * controller id 0, which kafkajs's idempotent producer cannot work with, so
   * idempotence is off there (it is on by default in production); every event
   * carries a derived id, so duplicates stay recognisable anyway.
   */
  coordinatorEnv(): Record<string, string>;
  stop(): Promise<void>;
}
