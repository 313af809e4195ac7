/**
 * The host's metrics (`GET /metrics`): which brokers are up, their added
 * round-trip time, the topics created, the faults injected so far by kind, the
 * fronts' extra fetches, and the host process' own metrics. The mock exposes
 * no broker-side counters (bytes, requests), so these are what the lab set,
 * not what the brokers saw.
 */
import { Counter, Gauge, type Registry, collectDefaultMetrics } from 'prom-client';
import type { FetchFronts } from '../fetch-front.js';

/** The host's state the gauges read when scraped. */
export interface HostState {
  readonly brokers: readonly number[];
  readonly down: ReadonlySet<number>;
  readonly rtt: ReadonlyMap<number, number>;
  readonly topics: ReadonlyMap<string, { readonly partitions: number }>;
  readonly fronts: () => FetchFronts | undefined;
}

/** Registers the host's metrics on `registry`; returns the counter of injected faults (by `kind`). */
export function registerHostMetrics(registry: Registry, state: HostState): Counter<'kind'> {
  const r = [registry];
  const faults = new Counter({
    name: 'kafka_mock_faults_injected_total',
    help: 'Faults injected through the control API, by kind',
    labelNames: ['kind'],
    registers: r,
  });
  collectDefaultMetrics({ register: registry });
  // Gauges read the host's state when scraped, so they can never disagree with /status.
  const { brokers, down, rtt, topics, fronts } = state;
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
    faults.inc({ kind }, 0);
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
  return faults;
}
