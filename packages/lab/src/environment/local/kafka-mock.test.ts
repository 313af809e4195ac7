import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer, type LogEntry } from 'kafkajs';
import { InvalidArgumentError, LabError } from '../../errors.js';
import { KafkaMockCluster, type StartedKafkaMock } from './kafka-mock.js';
import type { KafkaApi, KafkaErrorName } from '../kafka-protocol.js';

let dir: string;
let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}-${Date.now().toString(36)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kafka-mock-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function startMock(brokers = 3): Promise<StartedKafkaMock> {
  return KafkaMockCluster.start({ brokers, logFile: join(dir, `${unique('mock')}.log`) });
}

function kafkaFor(mock: StartedKafkaMock, logs?: LogEntry[]): Kafka {
  return new Kafka({
    clientId: unique('test'),
    brokers: mock.bootstrapServers,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 5 },
    logLevel: logs ? logLevel.WARN : logLevel.NOTHING,
    ...(logs && { logCreator: () => (entry: LogEntry) => void logs.push(entry) }),
  });
}

/** Whether the pid no longer names a live process (a zombie waiting for init to reap it counts as gone). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

/**
 * Consumes until `expected` distinct messages arrived. The mock can answer a
 * SyncGroup race with INVALID_REQUEST, after which kafkajs crashes the
 * consumer without restarting it; the cure is a fresh consumer.
 */
async function consumeAll(kafka: Kafka, topic: string, groupId: string, expected: number, timeoutMs: number) {
  const seen = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  let restarts = 0;
  let consumer: Consumer | undefined;
  let crashed = true;
  try {
    while (seen.size < expected && Date.now() < deadline) {
      if (crashed) {
        if (consumer) {
          restarts++;
          await consumer.disconnect().catch(() => {});
          await sleep(200);
        }
        crashed = false;
        // A short session matters on the mock: a member joining a group that has
        // (or had) members waits up to sessionTimeout - 1 s for the rebalance. It
        // must stay above the mock's fixed 3 s initial join delay, though.
        const c = kafka.consumer({
          groupId,
          maxWaitTimeInMs: 100,
          sessionTimeout: 4_000,
          heartbeatInterval: 1_000,
          retry: { retries: 3, initialRetryTime: 50 },
        });
        consumer = c;
        c.on(c.events.CRASH, (e) => {
          if (!e.payload.restart) crashed = true;
        });
        try {
          await c.connect();
          await c.subscribe({ topic, fromBeginning: true });
          await c.run({
            eachMessage: async ({ partition, message }) => {
              seen.set(`${partition}:${message.offset}`, message.key?.toString() ?? '');
            },
          });
        } catch {
          crashed = true;
        }
      }
      await sleep(50);
    }
  } finally {
    await consumer?.disconnect().catch(() => {});
  }
  return { keys: [...seen.values()], restarts };
}

describe('KafkaMockCluster', () => {
  it('starts a 3-broker cluster whose topics kafkajs sees with the requested partition count', async () => {
    await using mock = await startMock();
    expect(mock.brokerIds).toEqual([1, 2, 3]);
    expect(mock.bootstrapServers).toHaveLength(3);
    for (const b of mock.bootstrapServers) expect(b).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(mock.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const topic = unique('six');
    await mock.createTopic(topic, 6);
    const admin = kafkaFor(mock).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(topics[0]?.name).toBe(topic);
      expect(topics[0]?.partitions).toHaveLength(6);
    } finally {
      await admin.disconnect();
    }
    const status = await mock.status();
    expect(status.topics).toContainEqual({ name: topic, partitions: 6, replicationFactor: 3 });
    expect(status.brokers).toEqual([1, 2, 3]);
  }, 15_000);

  it('a broker set down fails produces to the partitions it leads, and set up serves them again', async () => {
    await using mock = await startMock();
    const topic = unique('down');
    await mock.createTopic(topic, 3);
    await mock.setPartitionLeader(topic, 0, 2);
    const kafka = new Kafka({
      clientId: unique('down'),
      brokers: mock.bootstrapServers.filter((_, i) => mock.brokerIds[i] !== 2),
      connectionTimeout: 500,
      requestTimeout: 1_000,
      retry: { initialRetryTime: 50, maxRetryTime: 200, retries: 2 },
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    await producer.connect();
    try {
      const message = { topic, messages: [{ partition: 0, key: 'k', value: 'v' }] };
      await producer.send(message);

      await mock.setBrokerDown(2);
      expect((await mock.status()).brokersDown).toEqual([2]);
      const outcome = await Promise.race([
        producer.send(message).then(
          () => 'sent',
          () => 'failed',
        ),
        sleep(5_000).then(() => 'timed out'),
      ]);
      expect(outcome).not.toBe('sent');

      await mock.setBrokerUp(2);
      const [result] = await producer.send(message);
      expect(result?.partition).toBe(0);
    } finally {
      await producer.disconnect();
    }
  }, 20_000);

  it('serves the state the lab set as Prometheus metrics: brokers up, added RTT, faults by kind', async () => {
    await using mock = await startMock();
    await mock.setBrokerDown(3);
    await mock.setBrokerRtt(1, 250);
    await mock.pushRequestErrors('Produce', ['NOT_LEADER_OR_FOLLOWER']);
    const text = await (await fetch(`${mock.controlUrl}/metrics`)).text();
    expect(text).toContain('kafka_mock_broker_up{broker="3"} 0');
    expect(text).toContain('kafka_mock_broker_up{broker="2"} 1');
    expect(text).toContain('kafka_mock_broker_rtt_seconds{broker="1"} 0.25');
    expect(text).toContain('kafka_mock_faults_injected_total{kind="broker_down"} 1');
    expect(text).toContain('kafka_mock_faults_injected_total{kind="request_errors"} 1');
    expect(text).toContain('kafka_mock_faults_injected_total{kind="leader"} 0');
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    await mock.setBrokerUp(3);
    expect(await (await fetch(`${mock.controlUrl}/metrics`)).text()).toContain('kafka_mock_broker_up{broker="3"} 1');
  }, 20_000);

  it('pushed Produce errors are retried by kafkajs: the send succeeds, later and with the errors logged', async () => {
    await using mock = await startMock();
    const topic = unique('errors');
    await mock.createTopic(topic, 1);
    const logs: LogEntry[] = [];
    const producer = kafkaFor(mock, logs).producer();
    await producer.connect();
    try {
      const message = { topic, messages: [{ key: 'k', value: 'v' }] };
      await producer.send(message); // warm: metadata and connections
      let t = performance.now();
      await producer.send(message);
      const cleanMs = performance.now() - t;

      await mock.pushRequestErrors('Produce', ['NOT_LEADER_FOR_PARTITION', 'REQUEST_TIMED_OUT', 7]);
      t = performance.now();
      const [result] = await producer.send(message);
      const faultyMs = performance.now() - t;

      expect(result?.errorCode).toBe(0);
      // Three retries from a 50 ms backoff that doubles cost at least ~280 ms; a clean send takes a few.
      expect(faultyMs).toBeGreaterThan(200);
      expect(faultyMs).toBeGreaterThan(cleanMs * 3);
      const logged = logs.map((l) => JSON.stringify(l.log)).join('\n');
      expect(logged).toMatch(/NOT_LEADER|leader/i);
    } finally {
      await producer.disconnect();
    }
  }, 20_000);

  it("one broker's own errors: only requests sent to that broker meet them, and their count can be read back", async () => {
    await using mock = await startMock(2);
    const topic = unique('broker-errors');
    await mock.createTopic(topic, 1, 1);
    await mock.setPartitionLeader(topic, 0, 1);
    const producer = kafkaFor(mock, []).producer();
    await producer.connect();
    try {
      const message = { topic, messages: [{ key: 'k', value: 'v' }] };
      await producer.send(message); // warm: metadata and connections
      await mock.pushBrokerRequestErrors(2, 'Produce', ['REQUEST_TIMED_OUT']);
      await mock.pushBrokerRequestErrors(1, 'Produce', ['NOT_LEADER_OR_FOLLOWER', 'REQUEST_TIMED_OUT']);
      expect(await mock.pendingRequestErrors(1, 'Produce')).toBe(2);
      expect(await mock.pendingRequestErrors(1, 'OffsetCommit')).toBe(0);
      const [result] = await producer.send(message);
      expect(result?.errorCode).toBe(0);
      // The leader's two errors were met (and retried past); broker 2 leads nothing, so its error still waits.
      expect(await mock.pendingRequestErrors(1, 'Produce')).toBe(0);
      expect(await mock.pendingRequestErrors(2, 'Produce')).toBe(1);
    } finally {
      await producer.disconnect();
    }
  }, 20_000);

  it('rejects bad arguments naming the field, both in the API and at the host', async () => {
    await expect(KafkaMockCluster.start({ brokers: 0, logFile: join(dir, 'x.log') })).rejects.toMatchObject({
      field: 'brokers',
    });
    await using mock = await startMock(2);
    const cases: [Promise<unknown>, string][] = [
      [mock.createTopic('t', 0), 'partitions'],
      [mock.createTopic('t', 1.5), 'partitions'],
      [mock.createTopic('bad name', 1), 'name'],
      [mock.createTopic('t', 1, 3), 'replicationFactor'],
      [mock.setBrokerDown(3), 'id'],
      [mock.setBrokerRtt(1, -5), 'ms'],
      [mock.setPartitionLeader('t', -1, 1), 'partition'],
      [mock.pushRequestErrors('Bogus' as KafkaApi, [6]), 'api'],
      [mock.pushRequestErrors('Produce', []), 'errors'],
      [mock.pushRequestErrors('Produce', [6, 'NOPE' as KafkaErrorName]), 'errors[1]'],
      [mock.pushBrokerRequestErrors(3, 'Produce', [6]), 'broker'],
      [mock.pushBrokerRequestErrors(1, 'Nope' as KafkaApi, [6]), 'api'],
      [mock.pushBrokerRequestErrors(1, 'Produce', []), 'errors'],
      [mock.pendingRequestErrors(1, 'Nope' as KafkaApi), 'api'],
      [mock.setCoordinator('cluster' as 'group', 'g', 1), 'keyType'],
      [mock.setTopicError('t', 'NOPE' as KafkaErrorName), 'error'],
    ];
    for (const [promise, field] of cases) {
      const err = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe(field);
    }

    // The host validates on its own too: its 400 names the field and the value.
    const res = await fetch(`${mock.controlUrl}/topics`, {
      method: 'POST',
      body: JSON.stringify({ name: 'ok', partitions: 5000 }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: 'partitions', value: 5000 });

    // A refusal by librdkafka itself comes back as a LabError with its message.
    const topic = unique('twice');
    await mock.createTopic(topic, 1);
    await expect(mock.createTopic(topic, 1)).rejects.toSatisfy(
      (e: unknown) => e instanceof LabError && /TOPIC_ALREADY_EXISTS/.test(e.message),
    );
  }, 15_000);

  it('reports a host that cannot load librdkafka as a start error with the install hint', async () => {
    const logFile = join(dir, `${unique('nolib')}.log`);
    await expect(KafkaMockCluster.start({ logFile, librdkafkaPath: '/nonexistent/librdkafka.so.1' })).rejects.toThrow(
      /apt-get install librdkafka1/,
    );
  }, 10_000);

  it('stop() is idempotent and leaves no host process behind', async () => {
    const mock = await startMock();
    const pid = mock.pid;
    expect(pid).toBeTypeOf('number');
    await mock.stop();
    await mock.stop();
    await mock[Symbol.asyncDispose]();
    expect(() => process.kill(pid as number, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await expect(mock.createTopic('late', 1)).rejects.toBeInstanceOf(LabError);
  }, 10_000);

  it('the host exits by itself when its parent is killed with SIGKILL', async () => {
    const hostScript = fileURLToPath(new URL('../../../dist/environment/local/kafka-mock-host.js', import.meta.url));
    const parentScript = join(dir, 'parent.mjs');
    writeFileSync(
      parentScript,
      [
        "import { spawn } from 'node:child_process';",
        "const host = spawn(process.execPath, [process.argv[2]], { stdio: ['ignore', 'pipe', 'ignore'] });",
        "host.stdout.once('data', () => console.log(JSON.stringify({ hostPid: host.pid })));",
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const parent = spawn(process.execPath, [parentScript, hostScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    let hostPid: number | undefined;
    try {
      const first = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: parent.stdout });
        rl.once('line', resolve);
        parent.once('exit', () => reject(new Error('parent exited before the host was ready')));
      });
      hostPid = (JSON.parse(first) as { hostPid: number }).hostPid;
      expect(isGone(hostPid)).toBe(false);

      parent.kill('SIGKILL');
      const deadline = Date.now() + 3_000;
      while (!isGone(hostPid) && Date.now() < deadline) await sleep(50);
      expect(isGone(hostPid)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
      if (hostPid !== undefined && !isGone(hostPid)) process.kill(hostPid, 'SIGKILL');
    }
  }, 10_000);
});

// Each group test waits out the mock's 3 s initial rebalance delay (and the
// crash test a session timeout or two); they use separate clusters, so they
// wait side by side.
describe.concurrent('KafkaMockCluster consumer groups', () => {
  it('round-trips 100 keyed messages through a consumer group', async ({ expect }) => {
    await using mock = await startMock();
    const topic = unique('roundtrip');
    await mock.createTopic(topic, 3);
    const kafka = kafkaFor(mock);
    const producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: 100 }, (_, i) => `key-${i}`);
    try {
      await producer.send({ topic, messages: sent.map((key) => ({ key, value: `value of ${key}` })) });
    } finally {
      await producer.disconnect();
    }
    const { keys } = await consumeAll(kafka, topic, unique('group'), sent.length, 20_000);
    expect([...keys].sort()).toEqual([...sent].sort());
  }, 30_000);

  it('a consumer crashed by an injected SyncGroup error is recreated and gets every message', async ({ expect }) => {
    await using mock = await startMock();
    const topic = unique('crash');
    await mock.createTopic(topic, 2);
    const kafka = kafkaFor(mock);
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: 'v' })) });
    } finally {
      await producer.disconnect();
    }
    // The same answer the mock gives on its own SyncGroup race, made deterministic.
    await mock.pushRequestErrors('SyncGroup', ['INVALID_REQUEST']);
    const { keys, restarts } = await consumeAll(kafka, topic, unique('group'), 10, 20_000);
    expect(keys).toHaveLength(10);
    expect(restarts).toBeGreaterThanOrEqual(1);
  }, 30_000);
});
