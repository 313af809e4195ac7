/**
 * Prometheus metrics (prom-client), one registry per service. The names are
 * an interface: the Grafana dashboard queries them as they are.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly eventsPublished: Counter<'event_type'>;
  readonly publishErrors: Counter<'event_type'>;
  readonly contentBytes: Histogram;
  /** Uploads per statement that tried them as first sights (they are grouped while earlier statements run). */
  readonly firstSightGroup: Histogram;
  /** Reports the outbox backlog on each scrape (read from Postgres then; a failed read leaves the last values). */
  observeOutbox(read: () => Promise<{ rows: number; oldestAgeSeconds: number; setAside: number }>): void;
}

export function createMetrics(instanceId: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ instance_id: instanceId });
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: 'ingest_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers: r,
    }),
    httpDuration: new Histogram({
      name: 'ingest_http_request_duration_seconds',
      help: 'Time from request received to response sent, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    eventsPublished: new Counter({
      name: 'ingest_events_published_total',
      help: 'Events acknowledged by Kafka (acks=-1) for the outbox relay, by event type; a client retry counts again',
      labelNames: ['event_type'],
      registers: r,
    }),
    publishErrors: new Counter({
      name: 'ingest_publish_errors_total',
      help: 'Events in relay sends Kafka did not acknowledge (they stay queued), by event type',
      labelNames: ['event_type'],
      registers: r,
    }),
    contentBytes: new Histogram({
      name: 'ingest_content_bytes',
      help: 'UTF-8 size of each newly stored essay text',
      buckets: [64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304],
      registers: r,
    }),
    firstSightGroup: new Histogram({
      name: 'ingest_first_sight_group_size',
      help: 'Uploads tried as first sights by one statement (grouped while earlier ones ran)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 200],
      registers: r,
    }),
    observeOutbox(read) {
      const last = { rows: 0, oldestAgeSeconds: 0, setAside: 0 };
      const refresh = async () => Object.assign(last, await read().catch(() => last));
      new Gauge({
        name: 'ingest_outbox_unpublished',
        help: 'Events stored and queued, not yet acknowledged by Kafka (set-aside rows excluded)',
        registers: r,
        async collect() {
          await refresh();
          this.set(last.rows);
        },
      });
      new Gauge({
        name: 'ingest_outbox_oldest_age_seconds',
        help: 'Age of the oldest queued event (0 when none)',
        registers: r,
        collect() {
          this.set(last.oldestAgeSeconds);
        },
      });
      new Gauge({
        name: 'ingest_outbox_set_aside',
        help: 'Events the broker refused for good, set aside with their reason',
        registers: r,
        collect() {
          this.set(last.setAside);
        },
      });
    },
  };
}
