/**
 * Kafka: one real KRaft broker. It has the contract's common surface (topics, the broker down and up);
 * the controls it lacks are absent (`capabilities.ts`, the docker row), not stubs.
 */
import { Kafka, logLevel } from 'kafkajs';
import { InvalidArgumentError } from '../../errors.js';
import type { KafkaMockStatus } from '../local/kafka-mock.js';
import type { KafkaOf } from '../capabilities.js';
import { KAFKA_HOST_LISTENER_PORT } from './docker-plan.js';
import type { PlannedContainer } from './planned-container.js';
import { tcpOpen, waitFor } from './container-runtime.js';

const BROKER_ID = 1;

/**
 * Broker 1 leads every partition and coordinates every group by itself, so it has no leader moves and no
 * coordinator pins; a real broker cannot be told to answer with injected errors, delay its responses or report
 * topic errors. Those controls are absent (`capabilities.ts`, the docker row), and the type checks it.
 */
export class DockerKafka implements KafkaOf<'docker'> {
  readonly brokerIds = [BROKER_ID];
  /** There is no control API: the broker is driven through the container runtime. */
  readonly controlUrl = '';
  private readonly topics = new Map<string, { partitions: number; replicationFactor: number }>();
  private down = false;

  constructor(private readonly c: PlannedContainer) {}

  get bootstrapServers(): string[] {
    return [`${this.c.host}:${this.c.mappedPort(KAFKA_HOST_LISTENER_PORT)}`];
  }
  get logFile(): string {
    return this.c.logFile;
  }
  get pid(): number | undefined {
    return this.c.pid > 0 ? this.c.pid : undefined;
  }
  /** True while the container exists, even with the broker down, as the mock host stays up then. */
  get running(): boolean {
    return this.c.running || this.down;
  }

  private admin() {
    return new Kafka({ brokers: this.bootstrapServers, logLevel: logLevel.NOTHING, clientId: 'lab-docker' }).admin();
  }

  private requireBroker(field: string, id: number): void {
    if (id !== BROKER_ID)
      throw new InvalidArgumentError(field, id, `${BROKER_ID} (the docker provider runs one broker)`);
  }

  async createTopic(name: string, partitions: number, replicationFactor = 1): Promise<void> {
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000)
      throw new InvalidArgumentError('partitions', partitions, 'an integer from 1 to 1000');
    if (replicationFactor !== 1)
      throw new InvalidArgumentError('replicationFactor', replicationFactor, '1 (one broker)');
    const admin = this.admin();
    await admin.connect();
    try {
      // false = it already existed; like the mock, creating an existing topic is not an error.
      await admin.createTopics({
        topics: [{ topic: name, numPartitions: partitions, replicationFactor }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    this.topics.set(name, { partitions, replicationFactor });
  }

  /** Stops the broker's container: connections closed and refused. Unlike the mock, the broker really shuts down. */
  async setBrokerDown(id: number): Promise<void> {
    this.requireBroker('id', id);
    await this.c.ops.run(() => this.c.stopKeeping());
    this.down = true;
  }

  async setBrokerUp(id: number): Promise<void> {
    this.requireBroker('id', id);
    await this.c.ops.run(async () => {
      await this.c.startAgain();
      const [host, port] = [this.c.host, this.c.mappedPort(KAFKA_HOST_LISTENER_PORT)];
      await waitFor('the kafka broker accepts connections again', () => tcpOpen(host, port), 120_000);
    });
    this.down = false;
  }

  /** The mock's status shape; `librdkafkaVersion` names the image instead, and `pid` is the container's host pid. */
  async status(): Promise<KafkaMockStatus> {
    return {
      bootstrapServers: this.bootstrapServers.join(','),
      brokers: [...this.brokerIds],
      brokersDown: this.down ? [BROKER_ID] : [],
      rttMs: {},
      topics: [...this.topics].map(([name, t]) => ({ name, ...t })),
      librdkafkaVersion: `n/a (${this.c.def.image})`,
      pid: this.c.pid,
    };
  }

  stop(): Promise<void> {
    return this.c.ops.run(() => this.c.remove());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
