/**
 * Prometheus metrics (prom-client), one registry per process. Names follow
 * Prometheus conventions: `_total` counters, `_seconds` histograms.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly eventsConsumed: Counter<'event_type' | 'outcome'>;
  readonly assignmentDuration: Histogram<'outcome'>;
  readonly dependencyLatency: Histogram<'dependency' | 'operation'>;
  readonly dependencyErrors: Counter<'dependency' | 'operation'>;
  readonly batchesClosed: Counter<'status'>;
  readonly deadLetters: Counter<'reason'>;
  readonly outboxPublished: Counter<'topic'>;
  readonly outboxPending: Gauge;
  readonly outboxLag: Gauge;
  readonly outboxSetAside: Counter<'reason'>;
  readonly outboxSetAsideRows: Gauge;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly consumerRestarts: Counter<'reason'>;
  readonly assignedPartitions: Gauge;
  readonly groupJoinedAt: Gauge;
  readonly kafkaClientErrors: Counter<'component'>;
  readonly kafkaRequests: Counter<'component' | 'api'>;
  readonly settledAtOnce: Histogram;
}

export function createMetrics(instanceId: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ instance_id: instanceId });
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  const metrics: Metrics = {
    registry,
    eventsConsumed: new Counter({
      name: 'coordinator_events_consumed_total',
      help: 'Input events processed, by event type and outcome',
      labelNames: ['event_type', 'outcome'],
      registers: r,
    }),
    assignmentDuration: new Histogram({
      name: 'coordinator_assignment_duration_seconds',
      help: 'Time to settle one content event (cache + store), by outcome',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    dependencyLatency: new Histogram({
      name: 'coordinator_dependency_duration_seconds',
      help: 'Latency of calls to Redis and Postgres',
      labelNames: ['dependency', 'operation'],
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: r,
    }),
    dependencyErrors: new Counter({
      name: 'coordinator_dependency_errors_total',
      help: 'Failed calls to Redis, Postgres and Kafka',
      labelNames: ['dependency', 'operation'],
      registers: r,
    }),
    batchesClosed: new Counter({
      name: 'coordinator_batches_closed_total',
      help: 'Batches this instance closed, by final status',
      labelNames: ['status'],
      registers: r,
    }),
    deadLetters: new Counter({
      name: 'coordinator_dead_letters_total',
      help: 'Input messages sent to the dead-letter topic, by reason',
      labelNames: ['reason'],
      registers: r,
    }),
    outboxPublished: new Counter({
      name: 'coordinator_outbox_published_total',
      help: 'Outbox rows published to Kafka by this instance',
      labelNames: ['topic'],
      registers: r,
    }),
    outboxPending: new Gauge({
      name: 'coordinator_outbox_pending',
      help: 'Unpublished outbox rows seen by the last relay pass',
      registers: r,
    }),
    outboxLag: new Gauge({
      name: 'coordinator_outbox_lag_seconds',
      help: 'Age of the oldest unpublished outbox row seen by the last relay pass (0 when the outbox is drained)',
      registers: r,
    }),
    outboxSetAside: new Counter({
      name: 'coordinator_outbox_set_aside_total',
      help: 'Outbox rows this instance set aside, never to be published: too_large (over the broker limit, gzip-compressed) or refused (a non-retriable produce error, several times)',
      labelNames: ['reason'],
      registers: r,
    }),
    outboxSetAsideRows: new Gauge({
      name: 'coordinator_outbox_set_aside_rows',
      help: 'Outbox rows set aside by any instance, in the database: events that were never published',
      registers: r,
    }),
    consumerLag: new Gauge({
      name: 'coordinator_consumer_lag',
      help: 'High watermark minus the offset of the last message processed, per partition',
      labelNames: ['topic', 'partition'],
      registers: r,
    }),
    consumerRestarts: new Counter({
      name: 'coordinator_consumer_restarts_total',
      help: 'Times the Kafka consumer was recreated after a crash kafkajs would not restart from',
      labelNames: ['reason'],
      registers: r,
    }),
    kafkaClientErrors: new Counter({
      name: 'coordinator_kafka_client_errors_total',
      help: 'Errors the Kafka client reported (error responses from brokers, failed connections), by client',
      labelNames: ['component'],
      registers: r,
    }),
    settledAtOnce: new Histogram({
      name: 'coordinator_settled_at_once',
      help: 'Inputs one fetched run settled with one cache call and one store transaction (the rest took the one-input path)',
      buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: r,
    }),
    kafkaRequests: new Counter({
      name: 'coordinator_kafka_requests_total',
      help: 'Requests the Kafka client sent to brokers (fetches, heartbeats, commits, produces…), by client and API',
      labelNames: ['component', 'api'],
      registers: r,
    }),
    assignedPartitions: new Gauge({
      name: 'coordinator_assigned_partitions',
      help: 'Input partitions this instance owns in the consumer group (0 while rebalancing or disconnected)',
      registers: r,
    }),
    groupJoinedAt: new Gauge({
      name: 'coordinator_group_joined_timestamp_seconds',
      help: 'When this instance last joined the consumer group (Unix time); members of one generation joined together',
      registers: r,
    }),
  };
  // "No batch has timed out" is an answer a dashboard should show as 0, not as missing data (a counter with
  // labels has no series until it is first incremented).
  for (const status of ['ready', 'timed_out']) metrics.batchesClosed.inc({ status }, 0);
  for (const reason of ['too_large', 'refused']) metrics.outboxSetAside.inc({ reason }, 0);
  return metrics;
}
