/**
 * Entry of the child process that hosts the lab's Kafka: librdkafka's mock
 * cluster, loaded through koffi, plus a small JSON control API on loopback
 * HTTP through which the lab injects faults.
 *
 * It runs in its own process (not inside the lab or a test worker) because
 * the mock cluster lives in librdkafka threads that only die with the
 * process: killing the host is the one reliable way to end every broker. For
 * the same reason the host ends itself when its parent disappears, so a
 * crashed lab never leaves brokers holding ports.
 *
 * Usage: node kafka-mock-host.js [--brokers N] [--rtt-ms MS] [--port P] [--lib PATH]
 * (or KAFKA_MOCK_BROKERS, KAFKA_MOCK_RTT_MS, KAFKA_MOCK_PORT, KAFKA_MOCK_LIBRDKAFKA).
 * When ready it prints one JSON line on stdout:
 *   {"ready":true,"bootstrapServers":"127.0.0.1:P1,...","controlUrl":"http://127.0.0.1:P","brokers":[1,2,3]}
 *
 * `GET /metrics` serves the cluster's state for Prometheus: which brokers are
 * up, their added round-trip time, the faults injected so far by kind, and
 * the host process' own metrics. The mock exposes no broker-side counters
 * (bytes, requests), so these are what the lab set, not what the brokers saw.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
  KAFKA_APIS,
  KAFKA_ERRORS,
  MAX_ERROR_CODE,
  MIN_ERROR_CODE,
  isKafkaApi,
  isKafkaErrorName,
} from '../kafka-protocol.js';
import { FetchFronts, MAX_FIND_COORDINATOR_VERSION, MAX_METADATA_VERSION } from './fetch-front.js';

const DEFAULT_LIB = 'librdkafka.so.1';
const INSTALL_HINT = 'install it with `apt-get install librdkafka1`';
/** Kafka's own limit on topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const MAX_BODY_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------
// Configuration

interface HostConfig {
  brokers: number;
  rttMs: number;
  port: number;
  lib: string;
  /** Clients reach the brokers through fronts that answer a Fetch as a Kafka broker does (fetch-front.ts). */
  fetchFront: boolean;
}

function fail(message: string, code = 2): never {
  process.stderr.write(`kafka-mock-host: ${message}\n`);
  process.exit(code);
}

function intSetting(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    fail(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  return n;
}

function readConfig(): HostConfig {
  let values: { brokers?: string; 'rtt-ms'?: string; port?: string; lib?: string; 'fetch-front'?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        brokers: { type: 'string' },
        'rtt-ms': { type: 'string' },
        port: { type: 'string' },
        lib: { type: 'string' },
        'fetch-front': { type: 'boolean' },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    fail(String((err as Error).message));
  }
  const env = process.env;
  return {
    // The mock numbers brokers from 1; a handful is plenty for a lab, and a
    // cap keeps a typo from spawning thousands of broker threads.
    brokers: intSetting('brokers', values.brokers ?? env.KAFKA_MOCK_BROKERS, 3, 1, 32),
    rttMs: intSetting('rtt-ms', values['rtt-ms'] ?? env.KAFKA_MOCK_RTT_MS, 0, 0, 60_000),
    port: intSetting('port', values.port ?? env.KAFKA_MOCK_PORT, 0, 0, 65_535),
    lib: values.lib ?? env.KAFKA_MOCK_LIBRDKAFKA ?? DEFAULT_LIB,
    fetchFront: values['fetch-front'] ?? env.KAFKA_MOCK_FETCH_FRONT === '1',
  };
}

// ---------------------------------------------------------------------------
// librdkafka binding

type Ptr = unknown;

interface Librdkafka {
  version(): string;
  err2name(err: number): string;
  confNew(): Ptr;
  confSet(conf: Ptr, name: string, value: string, errstr: Buffer, size: number): number;
  rdKafkaNew(type: number, conf: Ptr, errstr: Buffer, size: number): Ptr;
  rdKafkaDestroy(rk: Ptr): void;
  clusterNew(rk: Ptr, brokerCnt: number): Ptr;
  clusterDestroy(mc: Ptr): void;
  bootstraps(mc: Ptr): string;
  topicCreate(mc: Ptr, topic: string, partitions: number, replicationFactor: number): number;
  brokerSetDown(mc: Ptr, brokerId: number): number;
  brokerSetUp(mc: Ptr, brokerId: number): number;
  brokerSetRtt(mc: Ptr, brokerId: number, rttMs: number): number;
  partitionSetLeader(mc: Ptr, topic: string, partition: number, brokerId: number): number;
  pushRequestErrors(mc: Ptr, apiKey: number, cnt: number, errors: Int32Array): void;
  /** Variadic: `cnt` pairs of (error code, rtt ms), each preceded by its koffi type. */
  brokerPushRequestErrorRtts(mc: Ptr, brokerId: number, apiKey: number, cnt: number, ...pairs: unknown[]): number;
  brokerErrorStackCnt(mc: Ptr, brokerId: number, apiKey: number, cnt: [number]): number;
  coordinatorSet(mc: Ptr, keyType: string, key: string, brokerId: number): number;
  topicSetError(mc: Ptr, topic: string, err: number): void;
  setApiVersion(mc: Ptr, apiKey: number, minVersion: number, maxVersion: number): number;
}

async function loadLibrdkafka(path: string): Promise<Librdkafka> {
  // Imported lazily so that a koffi without a prebuilt binary for this
  // platform ends in the same one-line hint instead of a stack trace.
  const koffi = (await import('koffi')).default;
  const lib = koffi.load(path);
  const f = (decl: string) => lib.func(decl);
  // Opaque handles travel as `void *`: the host never looks inside them.
  return {
    version: f('const char *rd_kafka_version_str(void)'),
    err2name: f('const char *rd_kafka_err2name(int err)'),
    confNew: f('void *rd_kafka_conf_new(void)'),
    confSet: f(
      'int rd_kafka_conf_set(void *conf, const char *name, const char *value, _Out_ uint8_t *errstr, size_t errstr_size)',
    ),
    rdKafkaNew: f('void *rd_kafka_new(int type, void *conf, _Out_ uint8_t *errstr, size_t errstr_size)'),
    rdKafkaDestroy: f('void rd_kafka_destroy(void *rk)'),
    clusterNew: f('void *rd_kafka_mock_cluster_new(void *rk, int broker_cnt)'),
    clusterDestroy: f('void rd_kafka_mock_cluster_destroy(void *mcluster)'),
    bootstraps: f('const char *rd_kafka_mock_cluster_bootstraps(void *mcluster)'),
    topicCreate: f(
      'int rd_kafka_mock_topic_create(void *mcluster, const char *topic, int partition_cnt, int replication_factor)',
    ),
    brokerSetDown: f('int rd_kafka_mock_broker_set_down(void *mcluster, int32_t broker_id)'),
    brokerSetUp: f('int rd_kafka_mock_broker_set_up(void *mcluster, int32_t broker_id)'),
    brokerSetRtt: f('int rd_kafka_mock_broker_set_rtt(void *mcluster, int32_t broker_id, int rtt_ms)'),
    partitionSetLeader: f(
      'int rd_kafka_mock_partition_set_leader(void *mcluster, const char *topic, int32_t partition, int32_t broker_id)',
    ),
    pushRequestErrors: f(
      'void rd_kafka_mock_push_request_errors_array(void *mcluster, int16_t ApiKey, size_t cnt, const int *errors)',
    ),
    brokerPushRequestErrorRtts: f(
      'int rd_kafka_mock_broker_push_request_error_rtts(void *mcluster, int32_t broker_id, int16_t ApiKey, size_t cnt, ...)',
    ),
    brokerErrorStackCnt: f(
      'int rd_kafka_mock_broker_error_stack_cnt(void *mcluster, int32_t broker_id, int16_t ApiKey, _Out_ size_t *cntp)',
    ),
    coordinatorSet: f(
      'int rd_kafka_mock_coordinator_set(void *mcluster, const char *key_type, const char *key, int32_t broker_id)',
    ),
    topicSetError: f('void rd_kafka_mock_topic_set_error(void *mcluster, const char *topic, int err)'),
    setApiVersion: f(
      'int rd_kafka_mock_set_apiversion(void *mcluster, int16_t ApiKey, int16_t MinVersion, int16_t MaxVersion)',
    ),
  } as Librdkafka;
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

// ---------------------------------------------------------------------------
// Request handling

/** A request the host refuses, answered as JSON with the status and the offending field. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function badField(field: string, value: unknown, expectation: string): HttpError {
  return new HttpError(400, `${field}: ${expectation} (got ${JSON.stringify(value) ?? String(value)})`, {
    field,
    value: value === undefined ? null : value,
    expectation,
  });
}

type Body = Record<string, unknown>;

function int(body: Body, field: string, min: number, max: number, fallback?: number): number {
  const v = body[field];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badField(field, v, `an integer from ${min} to ${max}`);
  }
  return v;
}

function str(body: Body, field: string, pattern?: RegExp, expectation = 'a non-empty string'): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '' || (pattern && !pattern.test(v))) throw badField(field, v, expectation);
  return v;
}

async function readBody(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badField('body', text.slice(0, 200), 'a JSON object');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw badField('body', parsed, 'a JSON object');
  return parsed as Body;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

interface TopicInfo {
  partitions: number;
  replicationFactor: number;
}

class MockHost {
  readonly brokers: number[];
  /** The mock brokers' own addresses, in broker order. */
  private readonly brokerAddresses: string;
  private fronts: FetchFronts | undefined;
  /** When Fetch errors were last pushed on the cluster-wide stack (whose depth cannot be read back). */
  private clusterFetchErrorsAt = Number.NEGATIVE_INFINITY;
  private readonly topics = new Map<string, TopicInfo>();
  private readonly down = new Set<number>();
  private readonly rtt = new Map<number, number>();
  /** librdkafka's names for every code it knows, so the control API also accepts those. */
  private readonly errorNames = new Map<string, number>();
  private destroyed = false;
  readonly registry = new Registry();
  private readonly faults = new Counter({
    name: 'kafka_mock_faults_injected_total',
    help: 'Faults injected through the control API, by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  constructor(
    private readonly rd: Librdkafka,
    private readonly rk: Ptr,
    private readonly mc: Ptr,
    brokerCount: number,
    defaultRttMs: number,
  ) {
    this.brokers = Array.from({ length: brokerCount }, (_, i) => i + 1);
    this.brokerAddresses = rd.bootstraps(mc);
    for (let code = MIN_ERROR_CODE; code < 200; code++) {
      const name = rd.err2name(code);
      // Unknown codes come back as "ERR_<n>?"; only real names are worth accepting.
      if (name && !name.startsWith('ERR_')) this.errorNames.set(name, code);
    }
    if (defaultRttMs > 0) for (const id of this.brokers) this.setRtt(id, defaultRttMs);
    this.defineMetrics();
  }

  private defineMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
    const r = [this.registry];
    // Gauges read the host's state when scraped, so they can never disagree with /status.
    const { brokers, down, rtt, topics } = this;
    new Gauge({
      name: 'kafka_mock_broker_up',
      help: 'Whether each mock broker is up (1) or set down by a fault (0)',
      labelNames: ['broker'],
      registers: r,
      collect() {
        for (const id of brokers) this.set({ broker: String(id) }, down.has(id) ? 0 : 1);
      },
    });
    new Gauge({
      name: 'kafka_mock_broker_rtt_seconds',
      help: 'Round-trip time added to each mock broker',
      labelNames: ['broker'],
      registers: r,
      collect() {
        for (const id of brokers) this.set({ broker: String(id) }, (rtt.get(id) ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'kafka_mock_topic_partitions',
      help: 'Partitions of each topic created through the control API',
      labelNames: ['topic'],
      registers: r,
      collect() {
        for (const [name, t] of topics) this.set({ topic: name }, t.partitions);
      },
    });
    for (const kind of ['broker_down', 'broker_up', 'rtt', 'leader', 'request_errors', 'coordinator', 'topic_error'])
      this.faults.inc({ kind }, 0);
    const fronts = () => this.fronts;
    new Gauge({
      name: 'kafka_mock_front_fetches_extended',
      help: 'Client Fetch responses the fronts extended with further stored batches (0 without fronts)',
      registers: r,
      collect() {
        this.set(fronts()?.stats.extended ?? 0);
      },
    });
    new Gauge({
      name: 'kafka_mock_front_extra_fetches',
      help: 'Fetches the fronts sent to the brokers to extend client responses (0 without fronts)',
      registers: r,
      collect() {
        this.set(fronts()?.stats.fetches ?? 0);
      },
    });
  }

  countFault(kind: string): void {
    this.faults.inc({ kind });
  }

  private counted<T>(kind: string, result: T): T {
    this.countFault(kind);
    return result;
  }

  /** What clients bootstrap from: the fronts when there are any, else the brokers. */
  get bootstrapServers(): string {
    return this.fronts?.bootstrapServers ?? this.brokerAddresses;
  }

  /**
   * Puts a front before every broker (fetch-front.ts). The mock is capped to the Metadata and
   * FindCoordinator versions whose responses the fronts rewrite.
   */
  async startFronts(): Promise<void> {
    this.check(
      'cap Metadata versions',
      this.rd.setApiVersion(this.mc, KAFKA_APIS.Metadata, 0, MAX_METADATA_VERSION),
      'api',
      'Metadata',
    );
    this.check(
      'cap FindCoordinator versions',
      this.rd.setApiVersion(this.mc, KAFKA_APIS.FindCoordinator, 0, MAX_FIND_COORDINATOR_VERSION),
      'api',
      'FindCoordinator',
    );
    const ports = this.brokerAddresses.split(',').map((a) => Number(a.slice(a.lastIndexOf(':') + 1)));
    this.fronts = await FetchFronts.start({
      brokers: new Map(this.brokers.map((id, i) => [id, ports[i]!])),
      mayFetchOn: (id) => this.plainBroker(id),
    });
  }

  /** Up, no added round-trip time, no injected Fetch error waiting: a front may fetch on from it. */
  private plainBroker(id: number): boolean {
    if (this.down.has(id) || this.rtt.has(id)) return false;
    // Errors pushed cluster-wide are met by whichever request comes first, and their count cannot be read:
    // for a while after such a push, only clients fetch.
    if (Date.now() - this.clusterFetchErrorsAt < 30_000) return false;
    const out: [number] = [0];
    return this.rd.brokerErrorStackCnt(this.mc, id, KAFKA_APIS.Fetch, out) === 0 && Number(out[0]) === 0;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.fronts?.close();
    // Cluster first: it belongs to the rd_kafka_t handle and must not outlive it.
    this.rd.clusterDestroy(this.mc);
    this.rd.rdKafkaDestroy(this.rk);
  }

  status(): unknown {
    return {
      bootstrapServers: this.bootstrapServers,
      brokers: this.brokers,
      brokersDown: [...this.down].sort((a, b) => a - b),
      rttMs: Object.fromEntries(this.rtt),
      topics: [...this.topics].map(([name, t]) => ({ name, ...t })),
      librdkafkaVersion: this.rd.version(),
      pid: process.pid,
    };
  }

  private check(op: string, err: number, field?: string, value?: unknown): void {
    if (err === 0) return;
    const name = this.rd.err2name(err);
    const message = `${op} failed: ${name} (${err})`;
    if (err === KAFKA_ERRORS._TRANSPORT || field === undefined) throw new HttpError(500, message, { code: err, name });
    throw new HttpError(name === 'TOPIC_ALREADY_EXISTS' ? 409 : 400, message, { code: err, name, field, value });
  }

  private brokerId(raw: unknown, field = 'brokerId', allowLeaderless = false): number {
    if (typeof raw === 'number' && (this.brokers.includes(raw) || (allowLeaderless && raw === -1))) return raw;
    const ids = this.brokers.join(', ');
    throw badField(field, raw, allowLeaderless ? `one of ${ids}, or -1 for no leader` : `one of ${ids}`);
  }

  private errorCode(raw: unknown, field: string): number {
    if (typeof raw === 'number' && Number.isInteger(raw) && raw >= MIN_ERROR_CODE && raw <= MAX_ERROR_CODE) return raw;
    if (typeof raw === 'string') {
      if (isKafkaErrorName(raw)) return KAFKA_ERRORS[raw];
      const code = this.errorNames.get(raw) ?? this.errorNames.get(raw.replace(/^RD_KAFKA_RESP_ERR_/, ''));
      if (code !== undefined) return code;
    }
    throw badField(
      field,
      raw,
      `a Kafka error name (e.g. NOT_COORDINATOR) or an integer code from ${MIN_ERROR_CODE} to ${MAX_ERROR_CODE}`,
    );
  }

  private apiKey(raw: unknown): number {
    if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= 32767) return raw;
    if (typeof raw === 'string' && isKafkaApi(raw)) return KAFKA_APIS[raw];
    throw badField('api', raw, `an API name (${Object.keys(KAFKA_APIS).join(', ')}) or an API key from 0 to 32767`);
  }

  createTopic(body: Body): unknown {
    const name = str(body, 'name', TOPIC_NAME, 'a topic name of 1 to 249 characters from [a-zA-Z0-9._-]');
    const partitions = int(body, 'partitions', 1, 1000);
    const replicationFactor = int(body, 'replicationFactor', 1, this.brokers.length, Math.min(3, this.brokers.length));
    this.check(`create topic ${name}`, this.rd.topicCreate(this.mc, name, partitions, replicationFactor), 'name', name);
    this.topics.set(name, { partitions, replicationFactor });
    return { name, partitions, replicationFactor };
  }

  async setDown(id: number, down: boolean): Promise<unknown> {
    if (down) {
      this.check(`broker ${id} down`, this.rd.brokerSetDown(this.mc, id), 'brokerId', id);
      this.down.add(id);
    } else {
      this.check(`broker ${id} up`, this.rd.brokerSetUp(this.mc, id), 'brokerId', id);
      this.down.delete(id);
    }
    // A client's connection to a broker that is down is refused; through its front too.
    await this.fronts?.setDown(id, down);
    return { brokerId: id, up: !down };
  }

  setRtt(id: number, ms: number): unknown {
    this.check(`broker ${id} rtt`, this.rd.brokerSetRtt(this.mc, id, ms), 'brokerId', id);
    if (ms === 0) this.rtt.delete(id);
    else this.rtt.set(id, ms);
    return { brokerId: id, rttMs: ms };
  }

  setLeader(body: Body): unknown {
    const topic = str(body, 'topic', TOPIC_NAME, 'a topic name of 1 to 249 characters from [a-zA-Z0-9._-]');
    const known = this.topics.get(topic);
    // Only topics created here have a known size; auto-created ones are left to librdkafka to judge.
    const partition = int(body, 'partition', 0, known ? known.partitions - 1 : 999);
    const brokerId = this.brokerId(body.brokerId, 'brokerId', true);
    this.check(
      `set leader of ${topic}[${partition}]`,
      this.rd.partitionSetLeader(this.mc, topic, partition, brokerId),
      'partition',
      partition,
    );
    return { topic, partition, brokerId };
  }

  pushErrors(body: Body): unknown {
    const apiKey = this.apiKey(body.api);
    const raw = body.errors;
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > 10_000) {
      throw badField('errors', raw, 'a non-empty array of at most 10000 error names or codes');
    }
    const codes = raw.map((e, i) => this.errorCode(e, `errors[${i}]`));
    if (apiKey === KAFKA_APIS.Fetch) this.clusterFetchErrorsAt = Date.now();
    this.rd.pushRequestErrors(this.mc, apiKey, codes.length, Int32Array.from(codes));
    return { apiKey, errors: codes };
  }

  /**
   * Errors on one broker's own stack: unlike the cluster-wide stack, its
   * depth can be read back, so a caller learns how many of them a request met.
   */
  pushBrokerErrors(id: number, body: Body): unknown {
    const apiKey = this.apiKey(body.api);
    const raw = body.errors;
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > 1000) {
      throw badField('errors', raw, 'a non-empty array of at most 1000 error names or codes');
    }
    const codes = raw.map((e, i) => this.errorCode(e, `errors[${i}]`));
    const pairs = codes.flatMap((c) => ['int', c, 'int', 0]);
    this.check(
      `push errors on broker ${id}`,
      this.rd.brokerPushRequestErrorRtts(this.mc, id, apiKey, codes.length, ...pairs),
      'brokerId',
      id,
    );
    return { brokerId: id, apiKey, errors: codes };
  }

  /** How many errors are still waiting on one broker's stack for an API. */
  brokerErrorsPending(id: number, api: unknown): unknown {
    const apiKey = this.apiKey(api);
    const out: [number] = [0];
    this.check(`read errors of broker ${id}`, this.rd.brokerErrorStackCnt(this.mc, id, apiKey, out), 'brokerId', id);
    return { brokerId: id, apiKey, pending: Number(out[0]) };
  }

  setCoordinator(body: Body): unknown {
    const keyType = body.keyType;
    if (keyType !== 'group' && keyType !== 'transaction')
      throw badField('keyType', keyType, '"group" or "transaction"');
    const key = str(body, 'key');
    // librdkafka accepts any id here (a coordinator that does not exist is a fault worth injecting).
    const brokerId = int(body, 'brokerId', -1, 2 ** 31 - 1);
    this.check(
      `set ${keyType} coordinator for ${key}`,
      this.rd.coordinatorSet(this.mc, keyType, key, brokerId),
      'brokerId',
      brokerId,
    );
    return { keyType, key, brokerId };
  }

  setTopicError(body: Body): unknown {
    const topic = str(body, 'topic', TOPIC_NAME, 'a topic name of 1 to 249 characters from [a-zA-Z0-9._-]');
    const error = this.errorCode(body.error, 'error');
    this.rd.topicSetError(this.mc, topic, error);
    return { topic, error };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (method === 'GET' && (path === '/status' || path === '/')) return send(res, 200, this.status());
      if (method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'content-type': this.registry.contentType });
        res.end(await this.registry.metrics());
        return;
      }
      const broker = /^\/brokers\/([^/]+)\/(down|up|rtt|request-errors)$/.exec(path);
      const brokerIdOf = (m: RegExpExecArray) => {
        const idText = decodeURIComponent(m[1] ?? '');
        return this.brokerId(/^-?\d+$/.test(idText) ? Number(idText) : idText);
      };
      if (method === 'GET' && broker?.[2] === 'request-errors') {
        return send(res, 200, this.brokerErrorsPending(brokerIdOf(broker), url.searchParams.get('api') ?? undefined));
      }
      if (method !== 'POST') throw new HttpError(method === 'GET' ? 404 : 405, `no route ${method} ${path}`);
      const body = await readBody(req);
      if (broker) {
        const id = brokerIdOf(broker);
        if (broker[2] === 'request-errors')
          return send(res, 200, this.counted('request_errors', this.pushBrokerErrors(id, body)));
        if (broker[2] === 'rtt') {
          const r = this.setRtt(id, int(body, 'ms', 0, 60_000));
          this.countFault('rtt');
          return send(res, 200, r);
        }
        const r = await this.setDown(id, broker[2] === 'down');
        this.countFault(broker[2] === 'down' ? 'broker_down' : 'broker_up');
        return send(res, 200, r);
      }
      switch (path) {
        case '/topics':
          return send(res, 200, this.createTopic(body));
        case '/partitions/leader':
          return send(res, 200, this.counted('leader', this.setLeader(body)));
        case '/request-errors':
          return send(res, 200, this.counted('request_errors', this.pushErrors(body)));
        case '/coordinators':
          return send(res, 200, this.counted('coordinator', this.setCoordinator(body)));
        case '/topic-errors':
          return send(res, 200, this.counted('topic_error', this.setTopicError(body)));
        default:
          throw new HttpError(404, `no route ${method} ${path}`);
      }
    } catch (err) {
      if (err instanceof HttpError) return send(res, err.status, { error: err.message, ...err.extra });
      process.stderr.write(`kafka-mock-host: ${String((err as Error).stack ?? err)}\n`);
      return send(res, 500, { error: String((err as Error).message ?? err) });
    }
  }
}

// ---------------------------------------------------------------------------
// Main

const config = readConfig();

let rd: Librdkafka;
try {
  rd = await loadLibrdkafka(config.lib);
} catch (err) {
  const detail = String((err as Error).message ?? err).split('\n')[0];
  fail(`cannot load librdkafka (${config.lib}): ${detail}; ${INSTALL_HINT}`, 3);
}

const errbuf = Buffer.alloc(512);
const conf = rd.confNew();
// The handle only anchors the mock cluster; it never talks to a broker, so
// its own logging is turned down to keep the host log about the cluster.
if (rd.confSet(conf, 'log_level', '3', errbuf, errbuf.length) !== 0) fail(`rd_kafka_conf_set: ${cString(errbuf)}`);
const rk = rd.rdKafkaNew(0, conf, errbuf, errbuf.length);
if (!rk) fail(`rd_kafka_new: ${cString(errbuf)}`);
const mc = rd.clusterNew(rk, config.brokers);
if (!mc) {
  rd.rdKafkaDestroy(rk);
  fail(`rd_kafka_mock_cluster_new(${config.brokers}) failed`);
}
const host = new MockHost(rd, rk, mc, config.brokers, config.rttMs);
if (config.fetchFront) {
  try {
    await host.startFronts();
  } catch (err) {
    host.destroy();
    fail(`fetch fronts: ${String((err as Error).message ?? err)}`, 4);
  }
}

const server = createServer((req, res) => void host.handle(req, res));
// Control calls are rare and tiny; a keep-alive socket left by a client must not hold shutdown up.
server.keepAliveTimeout = 1000;

let stopping = false;
function shutdown(reason: string, code = 0): void {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`kafka-mock-host: stopping (${reason})\n`);
  server.closeAllConnections();
  server.close();
  try {
    host.destroy();
  } catch (err) {
    process.stderr.write(`kafka-mock-host: destroy failed: ${String(err)}\n`);
    code ||= 1;
  }
  process.exit(code);
}

// Once the parent is gone its end of our stdout/stderr pipes may be closed;
// an EPIPE there must not turn a clean shutdown into a crash.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGHUP', () => shutdown('SIGHUP'));

// A parent killed with SIGKILL cannot stop us, and nothing else would: the
// reparenting shows up as a changed ppid.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) shutdown(`parent ${parentPid} is gone`);
}, 500).unref();

server.once('error', (err) => {
  host.destroy();
  fail(`control server: ${String(err.message)}`, 4);
});
server.listen(config.port, '127.0.0.1', () => {
  const addr = server.address();
  if (addr === null || typeof addr !== 'object') return shutdown('control server has no address', 4);
  const ready = {
    ready: true,
    bootstrapServers: host.bootstrapServers,
    controlUrl: `http://127.0.0.1:${addr.port}`,
    brokers: host.brokers,
  };
  process.stdout.write(JSON.stringify(ready) + '\n');
});
