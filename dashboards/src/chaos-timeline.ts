/**
 * Cause above effect: the lab's fault windows on top, then what the
 * coordinator did meanwhile (throughput, errors, latency), then the state of
 * the things the faults act on (fault-proxy, the mock Kafka brokers). Every
 * panel shares the time axis and the fault windows are also drawn as
 * annotations across all of them.
 */
import { AnnotationQueryBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, datasource, orZeroWhile, PanelIds, q, row, stateTimeline, timeseries } from './common.js';

export const CHAOS_TIMELINE_UID = 'chaos-timeline';

const coordinatorPresent = 'coordinator_assigned_partitions';
const brokersPresent = 'kafka_mock_broker_up';
const labPresent = 'lab_process_start_time_seconds';

/**
 * Grafana turns consecutive samples of one series that are no further apart
 * than the step into a single region annotation, so `> 0` on the 0/1 gauge
 * yields one range per fault window.
 */
export const FAULT_ANNOTATION_EXPR = 'max by (fault, kind, target) (lab_fault_active) > 0';

export function chaosTimeline(): Dashboard {
  const ids = new PanelIds();
  return baseDashboard({
    uid: CHAOS_TIMELINE_UID,
    title: 'Chaos timeline',
    description: 'Fault windows from the lab above the coordinator, fault-proxy and Kafka broker metrics they disturb.',
    tags: ['chaos'],
  })
    .annotation(
      new AnnotationQueryBuilder()
        .name('Faults')
        .datasource(datasource)
        .enable(true)
        .iconColor('red')
        .expr(FAULT_ANNOTATION_EXPR)
        .step('5s')
        .titleFormat('{{fault}}')
        .textFormat('{{kind}} on {{target}}')
        .tagKeys('kind,target')
        .useValueForTime(false),
    )
    .withPanel(
      stateTimeline(ids, {
        title: 'Fault windows',
        description:
          'lab_fault_active: one row per fault the lab injected (its label, kind and target), red while it is active.',
        unit: 'none',
        height: 7,
        states: { '0': { text: 'off', color: 'transparent' }, '1': { text: 'active', color: 'red' } },
        // A fault has a series from its first window on; before any, a "none" row says the lab reports and nothing
        // was injected (the lab's default process metrics carry its `lab_` prefix).
        queries: [q(orZeroWhile('max by (fault, kind, target) (lab_fault_active)', labPresent, 'fault'), '{{fault}}')],
      }),
    )
    .withRow(row(ids, 'Coordinator'))
    .withPanel(
      timeseries(ids, {
        title: 'Throughput',
        description: 'Input events consumed and outbox rows published, all instances.',
        unit: 'ops',
        queries: [
          q('sum(rate(coordinator_events_consumed_total[$__rate_interval]))', 'consumed'),
          q('sum(rate(coordinator_outbox_published_total[$__rate_interval]))', 'published'),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Events consumed /s per instance',
        description: 'Which instance stopped (crash, pause) and who took over its partitions.',
        unit: 'ops',
        queries: [
          q('sum by (instance_id) (rate(coordinator_events_consumed_total[$__rate_interval]))', '{{instance_id}}'),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Errors',
        description:
          'Dependency errors and Kafka client errors per second, consumer restarts per interval. 0 while coordinators report and none happened.',
        unit: 'short',
        queries: [
          q(
            orZeroWhile(
              'sum by (dependency) (rate(coordinator_dependency_errors_total[$__rate_interval]))',
              coordinatorPresent,
              'dependency',
            ),
            'dependency {{dependency}} /s',
          ),
          q(
            orZeroWhile(
              'sum by (component) (rate(coordinator_kafka_client_errors_total[$__rate_interval]))',
              coordinatorPresent,
              'component',
            ),
            'kafka {{component}} /s',
          ),
          q(
            orZeroWhile(
              'sum by (reason) (increase(coordinator_consumer_restarts_total[$__rate_interval]))',
              coordinatorPresent,
              'reason',
            ),
            'restarts {{reason}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Latency p99',
        description: 'Assignment (settling one content event) and dependency calls.',
        unit: 's',
        queries: [
          q(
            'histogram_quantile(0.99, sum by (le) (rate(coordinator_assignment_duration_seconds_bucket[$__rate_interval])))',
            'assignment',
          ),
          q(
            'histogram_quantile(0.99, sum by (le, dependency) (rate(coordinator_dependency_duration_seconds_bucket[$__rate_interval])))',
            '{{dependency}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Consumer lag and outbox pending',
        description: 'Work the coordinator still owes: input messages behind, output rows unpublished.',
        unit: 'none',
        queries: [
          q('sum(coordinator_consumer_lag)', 'consumer lag'),
          q('max(coordinator_outbox_pending)', 'outbox pending'),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Assigned partitions per instance',
        description: 'Rebalances: partitions move away from a dead or paused member.',
        unit: 'none',
        queries: [q('sum by (instance_id) (coordinator_assigned_partitions)', '{{instance_id}}')],
      }),
    )
    .withRow(row(ids, 'Fault proxy'))
    .withPanel(
      stateTimeline(ids, {
        title: 'Proxy enabled',
        description: 'fault_proxy_proxy_enabled: red while a proxy is disabled (its listener closed).',
        unit: 'none',
        span: 12,
        states: { '0': { text: 'disabled', color: 'red' }, '1': { text: 'enabled', color: 'green' } },
        queries: [q('max by (proxy) (fault_proxy_proxy_enabled)', '{{proxy}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Toxics active',
        description: 'Toxics configured on each proxy (latency, timeout, reset…). 0 for a proxy without any.',
        unit: 'none',
        span: 12,
        height: 6,
        // The gauge is reset on every scrape and set only for proxies that have toxics, so a clean proxy has no
        // series; its `enabled` gauge always exists and supplies the 0, per proxy.
        queries: [
          q(
            'sum by (proxy) (fault_proxy_toxics_active) or (0 * max by (proxy) (fault_proxy_proxy_enabled))',
            '{{proxy}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Proxy connections active',
        description: 'Client connections open through each proxy.',
        unit: 'none',
        queries: [q('sum by (proxy) (fault_proxy_connections_active)', '{{proxy}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Proxy bytes sent /s',
        description: 'Bytes each proxy wrote after toxics, by direction; a stall or a cut shows as a drop to 0.',
        unit: 'Bps',
        queries: [
          q(
            'sum by (proxy, direction) (rate(toxiproxy_proxy_sent_bytes_total[$__rate_interval]))',
            '{{proxy}} {{direction}}',
          ),
        ],
      }),
    )
    .withRow(row(ids, 'Kafka brokers'))
    .withPanel(
      stateTimeline(ids, {
        title: 'Broker up',
        description: 'kafka_mock_broker_up: red while the mock cluster holds a broker down.',
        unit: 'none',
        span: 12,
        states: { '0': { text: 'down', color: 'red' }, '1': { text: 'up', color: 'green' } },
        queries: [q('max by (broker) (kafka_mock_broker_up)', 'broker {{broker}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Broker RTT',
        description: 'Round-trip time the mock cluster adds per broker.',
        unit: 's',
        span: 6,
        height: 6,
        queries: [q('max by (broker) (kafka_mock_broker_rtt_seconds)', 'broker {{broker}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Broker faults injected',
        description:
          'Request errors and other faults pushed into the mock cluster, by kind. 0 while brokers report and none was.',
        unit: 'none',
        span: 6,
        height: 6,
        bars: true,
        queries: [
          q(
            orZeroWhile(
              'sum by (kind) (increase(kafka_mock_faults_injected_total[$__rate_interval]))',
              brokersPresent,
              'kind',
            ),
            '{{kind}}',
          ),
        ],
      }),
    )
    .build();
}
