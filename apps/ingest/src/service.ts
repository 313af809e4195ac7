/**
 * Wires the service together: Postgres (migrate) → Kafka producer → outbox
 * relay → HTTP, and the reverse on stop: stop accepting and finish the
 * requests in flight, let the relay finish its pass, then disconnect the
 * producer and close the pool. Rows still queued are published by the next
 * instance's relay.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { topics as topicNames } from '@chaos-lab/contracts';
import type { IngestConfig } from './config.js';
import { createMetrics, type Metrics } from './metrics.js';
import { PgIngestStore } from './adapters/postgres/pg-store.js';
import { KafkaPublisher } from './adapters/kafka/publisher.js';
import { Ingest } from './domain/ingest.js';
import { OutboxRelay } from './domain/outbox-relay.js';
import { buildApp } from './http/server.js';

export interface RunningIngest extends AsyncDisposable {
  /** The bound HTTP port (the kernel's pick when the configured port was 0). */
  readonly port: number;
  /** `http://<host>:<port>`, with 127.0.0.1 in place of a wildcard host. */
  readonly url: string;
  readonly metrics: Metrics;
  /** Stops accepting, waits for requests in flight, disconnects. Idempotent. */
  stop(): Promise<void>;
}

export async function startIngest(config: IngestConfig, log: Logger): Promise<RunningIngest> {
  const metrics = createMetrics(config.instanceId);
  const topics = topicNames(config.kafka.topicPrefix);
  const store = new PgIngestStore({
    ...config.postgres,
    onFirstSightGroup: (n) => metrics.firstSightGroup.observe(n),
  });
  const cleanup: (() => Promise<void>)[] = [() => store.close()];
  const closeAll = async () => {
    for (const c of cleanup.reverse()) await c().catch((err) => log.warn({ err: String(err) }, 'shutdown step failed'));
  };
  try {
    const applied = await store.migrate();
    if (applied.length > 0) log.info({ applied }, 'database migrations applied');

    const publisher = new KafkaPublisher(config.kafka, metrics, log.child({ component: 'kafka-producer' }));
    cleanup.push(() => publisher.disconnect());
    await publisher.connect();

    const relay = new OutboxRelay(store, publisher, config.outbox, log.child({ component: 'outbox-relay' }));
    relay.start();
    // Stopped after the HTTP server (cleanups run in reverse): the last requests' rows get their pass.
    cleanup.push(() => relay.stop());
    metrics.observeOutbox(() => store.outboxBacklog());
    const ingest = new Ingest(
      store,
      {
        topics,
        maxTextBytes: config.maxTextBytes,
        onContentStored: (bytes) => metrics.contentBytes.observe(bytes),
        onQueued: () => relay.wake(),
      },
      log.child({ component: 'ingest' }),
    );
    const app = buildApp({
      ingest,
      metrics,
      maxBodyBytes: config.maxBodyBytes,
      log: log.child({ component: 'http' }),
      readiness: async () => {
        const problems: Record<string, string> = {};
        await Promise.all([
          store.ping().catch((e: Error) => (problems.postgres = e.message)),
          publisher.ping().catch((e: Error) => (problems.kafka = e.message)),
        ]);
        return problems;
      },
    });
    cleanup.push(() => app.close());
    await app.listen({ host: config.http.host, port: config.http.port });
    const port = (app.server.address() as AddressInfo).port;
    const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
    log.info({ port, host: config.http.host, topics }, 'ingest started');

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= closeAll());
    return {
      port,
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      metrics,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
