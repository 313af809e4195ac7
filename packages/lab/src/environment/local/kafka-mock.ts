/**
 * The lab's Kafka: librdkafka's built-in mock cluster, run in a child process
 * (`kafka-mock-host.ts`) and driven over a loopback JSON control API.
 *
 * Why a mock: no JVM broker can run on the lab machine, and the mock is the
 * one Kafka-wire-compatible broker that can (kafkajs produces, consumes and
 * runs consumer groups against it). It starts in milliseconds, so every test
 * or scenario gets a fresh cluster with its own ports.
 *
 * Its quirks, which callers must design around: there is no CreateTopics API
 * (topics auto-create with 4 partitions on first metadata request, so create
 * them here first for any other count); metadata names broker 0 as the
 * controller, so kafkajs `admin.createTopics` and idempotent or transactional
 * producers fail; Fetch always waits the full `maxWaitTimeInMs` (use ~100 ms);
 * a SyncGroup race can answer INVALID_REQUEST, after which a kafkajs consumer
 * may crash without restarting (recreate it); each partition keeps only about
 * 5 MiB or 100k messages.
 *
 * Faults are injected by the broker itself, not by a proxy: a broker can be
 * taken down (connections closed and refused, leadership unchanged) and up
 * again, be slowed by a round-trip delay, lose or gain partition leadership,
 * or answer the next N requests of one API with chosen error codes.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, LabError, LabTimeoutError, ProviderStartError } from '../../errors.js';
import { ManagedProcess } from '../../process/managed-process.js';
import {
  KAFKA_APIS,
  MAX_ERROR_CODE,
  MIN_ERROR_CODE,
  isKafkaApi,
  isKafkaErrorName,
  type KafkaApi,
  type KafkaErrorName,
} from '../kafka-protocol.js';
import type {
  BrokerRttControl,
  CoordinatorPinControl,
  LeaderMoveControl,
  RequestErrorControl,
  TopicErrorControl,
} from '../contract.js';
import type { KafkaOf } from '../capabilities.js';

const COMPONENT = 'kafka-mock';
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const TOPIC_EXPECTATION = 'a topic name of 1 to 249 characters from [a-zA-Z0-9._-]';

export interface KafkaMockOptions {
  /** Number of brokers, ids 1..n. Default 3. */
  brokers?: number;
  /** File that receives the host's stdout and stderr (appended). */
  logFile: string;
  /** Round-trip delay every broker adds to each response from the start. Default 0. */
  brokerRttMs?: number;
  /** How long to wait for the host's ready line. Default 10 000 ms. */
  startTimeoutMs?: number;
  /** Path or soname of librdkafka. Default `librdkafka.so.1` (from the librdkafka1 package). */
  librdkafkaPath?: string;
  /**
   * Clients reach the brokers through fronts that answer a Fetch as a Kafka broker does: every stored batch
   * up to the byte limits, not one per partition (`fetch-front.ts`). Default false.
   */
  fetchFront?: boolean;
}

export interface KafkaMockTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

/** What the host reports about itself (`GET /status`). */
export interface KafkaMockStatus {
  readonly bootstrapServers: string;
  readonly brokers: number[];
  readonly brokersDown: number[];
  /** Broker id → RTT in ms, for brokers with a non-zero delay. */
  readonly rttMs: Record<string, number>;
  /** Topics created through the control API (auto-created ones are not listed). */
  readonly topics: KafkaMockTopic[];
  readonly librdkafkaVersion: string;
  readonly pid: number;
}

interface ReadyLine {
  ready: true;
  bootstrapServers: string;
  controlUrl: string;
  brokers: number[];
}

function isReadyLine(v: unknown): v is ReadyLine {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return (
    r.ready === true &&
    typeof r.bootstrapServers === 'string' &&
    typeof r.controlUrl === 'string' &&
    Array.isArray(r.brokers) &&
    r.brokers.every((b) => typeof b === 'number')
  );
}

function requireApi(api: unknown): void {
  const ok =
    (typeof api === 'string' && isKafkaApi(api)) ||
    (typeof api === 'number' && Number.isInteger(api) && api >= 0 && api <= 32767);
  if (!ok) {
    throw new InvalidArgumentError(
      'api',
      api,
      `an API name (${Object.keys(KAFKA_APIS).join(', ')}) or an API key from 0 to 32767`,
    );
  }
}

function requireInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function requireTopic(field: string, value: unknown): string {
  if (typeof value !== 'string' || !TOPIC_NAME.test(value))
    throw new InvalidArgumentError(field, value, TOPIC_EXPECTATION);
  return value;
}

function errorCode(field: string, value: unknown): KafkaErrorName | number {
  if (typeof value === 'string' && isKafkaErrorName(value)) return value;
  if (typeof value === 'number' && Number.isInteger(value) && value >= MIN_ERROR_CODE && value <= MAX_ERROR_CODE) {
    return value;
  }
  throw new InvalidArgumentError(
    field,
    value,
    `a Kafka error name (e.g. NOT_COORDINATOR) or an integer code from ${MIN_ERROR_CODE} to ${MAX_ERROR_CODE}`,
  );
}

/**
 * The host runs as plain Node on compiled JavaScript: under vitest this
 * module is TypeScript in src/, so it points at the build output instead of
 * asking a child to run TypeScript.
 */
function hostScriptPath(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(
    new URL(
      fromSource ? '../../../dist/environment/local/kafka-mock-host.js' : './kafka-mock-host.js',
      import.meta.url,
    ),
  );
  if (!existsSync(script)) {
    throw new ProviderStartError(COMPONENT, `host script ${script} is missing; run \`npm run build\` first`);
  }
  return script;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The host's own explanation of a failed start, from the part of the log this start wrote. */
function hostComplaint(logFile: string, from: number): string | undefined {
  try {
    const text = readFileSync(logFile).subarray(from).toString('utf8');
    const lines = text.split('\n').filter((l) => l.startsWith('kafka-mock-host:'));
    return lines.at(-1)?.replace(/^kafka-mock-host:\s*/, '');
  } catch {
    return undefined;
  }
}

export class KafkaMockCluster {
  /** Spawns the host, waits for its ready line and returns the running cluster. */
  static async start(opts: KafkaMockOptions): Promise<StartedKafkaMock> {
    if (typeof opts?.logFile !== 'string' || opts.logFile === '') {
      throw new InvalidArgumentError('logFile', opts?.logFile, 'a file path');
    }
    const brokers = requireInt('brokers', opts.brokers ?? 3, 1, 32);
    const rttMs = requireInt('brokerRttMs', opts.brokerRttMs ?? 0, 0, 60_000);
    const timeoutMs = requireInt('startTimeoutMs', opts.startTimeoutMs ?? 10_000, 1, 600_000);
    if (opts.librdkafkaPath !== undefined && (typeof opts.librdkafkaPath !== 'string' || opts.librdkafkaPath === '')) {
      throw new InvalidArgumentError('librdkafkaPath', opts.librdkafkaPath, 'a library path or soname');
    }
    const script = hostScriptPath();
    const logStart = fileSize(opts.logFile);

    let onReady!: (r: ReadyLine) => void;
    const ready = new Promise<ReadyLine>((resolve) => (onReady = resolve));
    // The host ends itself when the lab dies; it is told which process that is (see lifecycle.ts).
    const args = [script, '--brokers', String(brokers), '--rtt-ms', String(rttMs), '--parent-pid', String(process.pid)];
    if (opts.librdkafkaPath !== undefined) args.push('--lib', opts.librdkafkaPath);
    if (opts.fetchFront !== undefined && typeof opts.fetchFront !== 'boolean')
      throw new InvalidArgumentError('fetchFront', opts.fetchFront, 'true or false');
    if (opts.fetchFront) args.push('--fetch-front');
    const proc = await ManagedProcess.spawn({
      name: COMPONENT,
      command: process.execPath,
      args,
      logFile: opts.logFile,
      // The host only destroys the cluster on SIGTERM; it never needs long.
      stopTimeoutMs: 5_000,
      onStdoutLine: (line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          if (isReadyLine(parsed)) onReady(parsed);
        } catch {
          // not the ready line; it is in the log file anyway
        }
      },
    });

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready,
      proc.exited.then((exit) => ({ exit })),
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);

    if (outcome === 'timeout') {
      await proc.stop('SIGKILL');
      throw new LabTimeoutError(`${COMPONENT}: ready line (log: ${opts.logFile})`, timeoutMs);
    }
    if ('exit' in outcome) {
      // 'exit' can overtake the last stderr bytes still in the pipe; give them a
      // moment, then stop() ends the log so the host's last words can be read.
      await new Promise((r) => setTimeout(r, 50));
      await proc.stop();
      const why = hostComplaint(opts.logFile, logStart);
      const how = outcome.exit.signal ? `signal ${outcome.exit.signal}` : `code ${outcome.exit.code}`;
      throw new ProviderStartError(COMPONENT, `host exited (${how}) before it was ready${why ? `: ${why}` : ''}`, {
        logFile: opts.logFile,
      });
    }
    return new StartedKafkaMock(proc, outcome);
  }
}

/** The mock has every Kafka control of the contract (`capabilities.ts`: the local provider's row). */
export class StartedKafkaMock implements KafkaOf<'local'> {
  /** `host:port` per broker, in broker id order, ready for kafkajs `brokers`. */
  readonly bootstrapServers: string[];
  readonly controlUrl: string;
  readonly brokerIds: number[];
  readonly logFile: string;
  private readonly proc: ManagedProcess;
  private stopping: Promise<void> | undefined;

  /** @internal use {@link KafkaMockCluster.start} */
  constructor(proc: ManagedProcess, ready: ReadyLine) {
    this.proc = proc;
    this.logFile = proc.logFile;
    this.bootstrapServers = ready.bootstrapServers.split(',').filter((s) => s !== '');
    this.controlUrl = ready.controlUrl;
    this.brokerIds = [...ready.brokers];
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.running;
  }

  // The optional controls of the contract: the mock answers each of them itself.
  get leaderMoves(): LeaderMoveControl {
    return this;
  }
  get requestErrors(): RequestErrorControl {
    return this;
  }
  get brokerRtt(): BrokerRttControl {
    return this;
  }
  get coordinatorPins(): CoordinatorPinControl {
    return this;
  }
  get topicErrors(): TopicErrorControl {
    return this;
  }

  /** Creates a topic with an exact partition count (the only way: the mock has no CreateTopics API). */
  async createTopic(name: string, partitions: number, replicationFactor?: number): Promise<void> {
    requireTopic('name', name);
    requireInt('partitions', partitions, 1, 1000);
    const body: Record<string, unknown> = { name, partitions };
    if (replicationFactor !== undefined) {
      body.replicationFactor = requireInt('replicationFactor', replicationFactor, 1, this.brokerIds.length);
    }
    await this.call('POST', '/topics', body);
  }

  /** Closes the broker's connections and refuses new ones; it keeps leading its partitions. */
  async setBrokerDown(id: number): Promise<void> {
    await this.call('POST', `/brokers/${this.requireBroker('id', id)}/down`);
  }

  async setBrokerUp(id: number): Promise<void> {
    await this.call('POST', `/brokers/${this.requireBroker('id', id)}/up`);
  }

  /** Delays every response of the broker by `ms` (0 removes the delay). */
  async setBrokerRtt(id: number, ms: number): Promise<void> {
    this.requireBroker('id', id);
    await this.call('POST', `/brokers/${id}/rtt`, { ms: requireInt('ms', ms, 0, 60_000) });
  }

  /** Moves leadership; `brokerId` -1 leaves the partition without a leader. */
  async setPartitionLeader(topic: string, partition: number, brokerId: number): Promise<void> {
    requireTopic('topic', topic);
    requireInt('partition', partition, 0, 999);
    if (brokerId !== -1) this.requireBroker('brokerId', brokerId, ', or -1 for no leader');
    await this.call('POST', '/partitions/leader', { topic, partition, brokerId });
  }

  /**
   * The next `errors.length` requests of this API, to any broker, are answered
   * with these errors in order. `_TRANSPORT` makes the broker drop the
   * connection instead.
   */
  async pushRequestErrors(api: KafkaApi | number, errors: (KafkaErrorName | number)[]): Promise<void> {
    requireApi(api);
    if (!Array.isArray(errors) || errors.length === 0 || errors.length > 10_000) {
      throw new InvalidArgumentError('errors', errors, 'a non-empty array of at most 10000 error names or codes');
    }
    const list = errors.map((e, i) => errorCode(`errors[${i}]`, e));
    await this.call('POST', '/request-errors', { api, errors: list });
  }

  /**
   * The next `errors.length` requests of this API sent to one broker are
   * answered with these errors, in order. Unlike `pushRequestErrors`, the
   * broker's stack can be read back (`pendingRequestErrors`), so a caller
   * learns whether any request met them.
   */
  async pushBrokerRequestErrors(
    broker: number,
    api: KafkaApi | number,
    errors: (KafkaErrorName | number)[],
  ): Promise<void> {
    this.requireBroker('broker', broker);
    requireApi(api);
    if (!Array.isArray(errors) || errors.length === 0 || errors.length > 1000) {
      throw new InvalidArgumentError('errors', errors, 'a non-empty array of at most 1000 error names or codes');
    }
    const list = errors.map((e, i) => errorCode(`errors[${i}]`, e));
    await this.call('POST', `/brokers/${broker}/request-errors`, { api, errors: list });
  }

  /** How many errors pushed by `pushBrokerRequestErrors` are still waiting for a request of this API. */
  async pendingRequestErrors(broker: number, api: KafkaApi): Promise<number> {
    this.requireBroker('broker', broker);
    requireApi(api);
    const r = (await this.call('GET', `/brokers/${broker}/request-errors?api=${encodeURIComponent(api)}`)) as {
      pending?: unknown;
    };
    if (typeof r.pending !== 'number') throw new LabError(`${COMPONENT}: no pending count in ${JSON.stringify(r)}`);
    return r.pending;
  }

  /** Pins the coordinator for a group or transactional id (it need not be an existing broker). */
  async setCoordinator(keyType: 'group' | 'transaction', key: string, brokerId: number): Promise<void> {
    if (keyType !== 'group' && keyType !== 'transaction') {
      throw new InvalidArgumentError('keyType', keyType, '"group" or "transaction"');
    }
    if (typeof key !== 'string' || key === '') throw new InvalidArgumentError('key', key, 'a non-empty string');
    requireInt('brokerId', brokerId, -1, 2 ** 31 - 1);
    await this.call('POST', '/coordinators', { keyType, key, brokerId });
  }

  /** The error the topic reports in Metadata responses (NO_ERROR / 0 clears it). */
  async setTopicError(topic: string, error: KafkaErrorName | number): Promise<void> {
    requireTopic('topic', topic);
    await this.call('POST', '/topic-errors', { topic, error: errorCode('error', error) });
  }

  async status(): Promise<KafkaMockStatus> {
    return (await this.call('GET', '/status')) as KafkaMockStatus;
  }

  /** Stops the host (and with it every broker). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.proc.stop().then(() => undefined);
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private requireBroker(field: string, id: number, extra = ''): number {
    if (!this.brokerIds.includes(id)) {
      throw new InvalidArgumentError(field, id, `one of ${this.brokerIds.join(', ')}${extra}`);
    }
    return id;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 5_000): Promise<unknown> {
    if (this.stopping || !this.proc.running) {
      throw new LabError(`${COMPONENT}: ${method} ${path} after the host stopped`);
    }
    let res: Response;
    try {
      res = await fetch(this.controlUrl + path, {
        method,
        ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (err instanceof Error && err.name === 'TimeoutError') {
        throw new LabTimeoutError(`${COMPONENT}: ${method} ${path}`, timeoutMs);
      }
      throw new LabError(`${COMPONENT}: ${method} ${path} failed: ${String(err)}`, { retriable: true, cause: err });
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a non-JSON reply is reported verbatim below
    }
    if (!res.ok) {
      if (res.status === 400 && typeof json.field === 'string' && typeof json.expectation === 'string') {
        throw new InvalidArgumentError(json.field, json.value, json.expectation);
      }
      const message = typeof json.error === 'string' ? json.error : text.slice(0, 500);
      throw new LabError(`${COMPONENT}: ${method} ${path} answered ${res.status}: ${message}`);
    }
    return json;
  }
}
