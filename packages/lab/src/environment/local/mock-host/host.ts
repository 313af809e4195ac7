/**
 * The mock cluster as the control API sees it: the faults it injects through
 * librdkafka, the state they leave (brokers down, added round-trip times,
 * topics), the check of every argument, and the fronts before the brokers.
 */
import { type Counter, Registry } from 'prom-client';
import { KAFKA_APIS } from '../../kafka-protocol.js';
import { FetchFronts, MAX_FIND_COORDINATOR_VERSION, MAX_METADATA_VERSION } from '../fetch-front.js';
import * as arg from './arguments.js';
import { type Body, badField, int, str } from './http.js';
import type { Librdkafka, Ptr } from './librdkafka.js';
import { registerHostMetrics } from './metrics.js';

/** Kafka's own limit on topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

interface TopicInfo {
  partitions: number;
  replicationFactor: number;
}

export class MockHost {
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
  private readonly errorNames: Map<string, number>;
  private destroyed = false;
  readonly registry = new Registry();
  private readonly faults: Counter<'kind'>;

  constructor(
    private readonly rd: Librdkafka,
    private readonly rk: Ptr,
    private readonly mc: Ptr,
    brokerCount: number,
    defaultRttMs: number,
  ) {
    this.brokers = Array.from({ length: brokerCount }, (_, i) => i + 1);
    this.brokerAddresses = rd.bootstraps(mc);
    this.errorNames = arg.librdkafkaErrorNames(rd);
    if (defaultRttMs > 0) for (const id of this.brokers) this.setRtt(id, defaultRttMs);
    this.faults = registerHostMetrics(this.registry, {
      brokers: this.brokers,
      down: this.down,
      rtt: this.rtt,
      topics: this.topics,
      fronts: () => this.fronts,
    });
  }

  countFault(kind: string): void {
    this.faults.inc({ kind });
  }

  counted<T>(kind: string, result: T): T {
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
    arg.check(this.rd, op, err, field, value);
  }

  brokerId(raw: unknown, field = 'brokerId', allowLeaderless = false): number {
    return arg.brokerId(this.brokers, raw, field, allowLeaderless);
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
    const apiKey = arg.apiKey(body.api);
    const raw = body.errors;
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > 10_000) {
      throw badField('errors', raw, 'a non-empty array of at most 10000 error names or codes');
    }
    const codes = raw.map((e, i) => arg.errorCode(this.errorNames, e, `errors[${i}]`));
    if (apiKey === KAFKA_APIS.Fetch) this.clusterFetchErrorsAt = Date.now();
    this.rd.pushRequestErrors(this.mc, apiKey, codes.length, Int32Array.from(codes));
    return { apiKey, errors: codes };
  }

  /**
   * Errors on one broker's own stack: unlike the cluster-wide stack, its
   * depth can be read back, so a caller learns how many of them a request met.
   */
  pushBrokerErrors(id: number, body: Body): unknown {
    const apiKey = arg.apiKey(body.api);
    const raw = body.errors;
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > 1000) {
      throw badField('errors', raw, 'a non-empty array of at most 1000 error names or codes');
    }
    const codes = raw.map((e, i) => arg.errorCode(this.errorNames, e, `errors[${i}]`));
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
    const apiKey = arg.apiKey(api);
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
    const error = arg.errorCode(this.errorNames, body.error, 'error');
    this.rd.topicSetError(this.mc, topic, error);
    return { topic, error };
  }
}
