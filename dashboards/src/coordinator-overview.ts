/**
 * The coordinator at a glance: what it consumes, how long a settlement takes,
 * how its dependencies answer, how far behind it is, what the outbox still
 * owes, and the ingest service that feeds it. `$instance` narrows every
 * coordinator panel to some of the instances (all by default).
 */
import {
  type Dashboard,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, datasource, orZeroWhile, PanelIds, q, row, stat, timeseries } from './common.js';

export const COORDINATOR_OVERVIEW_UID = 'coordinator-overview';

const sel = 'instance_id=~"$instance"';
/** An unlabelled gauge every coordinator exports from its first scrape: "a selected coordinator is reporting". */
const coordinatorPresent = `coordinator_assigned_partitions{${sel}}`;
/** Ingest's request counter has series once it served a request; before that its error counters are not 0 but moot. */
const ingestPresent = 'ingest_http_requests_total';

const quantile = (phi: number, metric: string, by: string, matchers = sel): string =>
  `histogram_quantile(${phi}, sum by (${by}) (rate(${metric}_bucket{${matchers}}[$__rate_interval])))`;

export function coordinatorOverview(): Dashboard {
  const ids = new PanelIds();
  return baseDashboard({
    uid: COORDINATOR_OVERVIEW_UID,
    title: 'Coordinator overview',
    description: 'Throughput, latency, lag, outbox and ingest of the batch coordinator, per instance.',
    tags: ['coordinator'],
  })
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Instance')
        .description('Coordinator instances (label instance_id)')
        .datasource(datasource)
        .query('label_values(coordinator_events_consumed_total, instance_id)')
        .definition('label_values(coordinator_events_consumed_total, instance_id)')
        // Instances come and go in the lab (crash, restart): refresh with the time range, and let All mean any
        // instance rather than the list that existed when the variable was loaded.
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.NaturalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .current({ text: 'All', value: '$__all', selected: true }),
    )
    .withRow(row(ids, 'Summary'))
    .withPanel(
      stat(ids, {
        title: 'Instances reporting',
        description: 'Coordinator instances whose metrics Prometheus scrapes now.',
        unit: 'none',
        queries: [q(`count(${coordinatorPresent})`, 'instances')],
      }),
    )
    .withPanel(
      stat(ids, {
        title: 'Events consumed /s',
        description: 'All event types and outcomes, all selected instances.',
        unit: 'ops',
        queries: [q(`sum(rate(coordinator_events_consumed_total{${sel}}[$__rate_interval]))`, 'events/s')],
      }),
    )
    .withPanel(
      stat(ids, {
        title: 'Consumer lag',
        description: 'Messages behind the high watermark, summed over partitions and instances.',
        unit: 'none',
        queries: [q(`sum(coordinator_consumer_lag{${sel}})`, 'lag')],
      }),
    )
    .withPanel(
      stat(ids, {
        title: 'Outbox pending',
        description: 'Unpublished outbox rows, largest view among instances (they share one table).',
        unit: 'none',
        queries: [q(`max(coordinator_outbox_pending{${sel}})`, 'pending')],
      }),
    )
    .withRow(row(ids, 'Throughput'))
    .withPanel(
      timeseries(ids, {
        title: 'Events consumed /s by type and outcome',
        description: 'Input events processed, all selected instances together.',
        unit: 'ops',
        queries: [
          q(
            `sum by (event_type, outcome) (rate(coordinator_events_consumed_total{${sel}}[$__rate_interval]))`,
            '{{event_type}} {{outcome}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Events consumed /s per instance',
        description: 'How the consumer group spreads the input; an instance at 0 owns no partition or is stuck.',
        unit: 'ops',
        queries: [
          q(
            `sum by (instance_id) (rate(coordinator_events_consumed_total{${sel}}[$__rate_interval]))`,
            '{{instance_id}}',
          ),
        ],
      }),
    )
    .withRow(row(ids, 'Latency and dependencies'))
    .withPanel(
      timeseries(ids, {
        title: 'Assignment latency p50 / p99',
        description: 'Time to settle one content event (cache + store), all selected instances.',
        unit: 's',
        queries: [
          q(quantile(0.5, 'coordinator_assignment_duration_seconds', 'le'), 'p50'),
          q(quantile(0.99, 'coordinator_assignment_duration_seconds', 'le'), 'p99'),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Assignment latency p99 per instance',
        description: 'One slow instance (paused, starved of CPU) shows here before it shows in the total.',
        unit: 's',
        queries: [q(quantile(0.99, 'coordinator_assignment_duration_seconds', 'le, instance_id'), '{{instance_id}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Dependency call latency p99',
        description: 'Redis and Postgres calls, by operation.',
        unit: 's',
        queries: [
          q(
            quantile(0.99, 'coordinator_dependency_duration_seconds', 'le, dependency, operation'),
            '{{dependency}} {{operation}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Dependency errors /s',
        description: 'Failed calls to Redis, Postgres and Kafka. 0 while coordinators report and none failed.',
        unit: 'ops',
        queries: [
          q(
            orZeroWhile(
              `sum by (dependency) (rate(coordinator_dependency_errors_total{${sel}}[$__rate_interval]))`,
              coordinatorPresent,
              'dependency',
            ),
            '{{dependency}}',
          ),
        ],
      }),
    )
    .withRow(row(ids, 'Kafka consumer'))
    .withPanel(
      timeseries(ids, {
        title: 'Consumer lag per instance',
        description: 'High watermark minus the last processed offset, summed over the partitions an instance reports.',
        unit: 'none',
        queries: [q(`sum by (instance_id) (coordinator_consumer_lag{${sel}})`, '{{instance_id}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Consumer lag per partition',
        description: 'Each series is one partition as seen by one instance.',
        unit: 'none',
        queries: [
          q(
            `sum by (topic, partition, instance_id) (coordinator_consumer_lag{${sel}})`,
            '{{topic}}[{{partition}}] {{instance_id}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Assigned partitions per instance',
        description: '0 while rebalancing or disconnected; the sum over instances is the partition count when settled.',
        unit: 'none',
        span: 8,
        queries: [q(`sum by (instance_id) (coordinator_assigned_partitions{${sel}})`, '{{instance_id}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Consumer restarts',
        description: 'Consumers recreated after a crash kafkajs would not restart from, by reason.',
        unit: 'none',
        span: 8,
        bars: true,
        queries: [
          q(
            orZeroWhile(
              `sum by (reason) (increase(coordinator_consumer_restarts_total{${sel}}[$__rate_interval]))`,
              coordinatorPresent,
              'reason',
            ),
            '{{reason}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Group joins per instance',
        description: 'Times an instance (re)joined the consumer group: each bar is a rebalance it took part in.',
        unit: 'none',
        span: 8,
        bars: true,
        queries: [
          q(
            `sum by (instance_id) (changes(coordinator_group_joined_timestamp_seconds{${sel}}[$__rate_interval]))`,
            '{{instance_id}}',
          ),
        ],
      }),
    )
    .withRow(row(ids, 'Outbox, batches, dead letters'))
    .withPanel(
      timeseries(ids, {
        title: 'Outbox pending rows',
        description: 'Unpublished rows each instance saw on its last relay pass.',
        unit: 'none',
        span: 8,
        queries: [q(`max by (instance_id) (coordinator_outbox_pending{${sel}})`, '{{instance_id}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Outbox lag',
        description: 'Age of the oldest unpublished outbox row, per instance.',
        unit: 's',
        span: 8,
        queries: [q(`max by (instance_id) (coordinator_outbox_lag_seconds{${sel}})`, '{{instance_id}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Outbox published /s by topic',
        description: 'Rows the relay published to Kafka.',
        unit: 'ops',
        span: 8,
        queries: [
          q(`sum by (topic) (rate(coordinator_outbox_published_total{${sel}}[$__rate_interval]))`, '{{topic}}'),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Batches closed /s by status',
        description: 'ready: every expected event arrived; timed_out: the deadline closed it. 0 while none closed.',
        unit: 'ops',
        queries: [
          q(
            orZeroWhile(
              `sum by (status) (rate(coordinator_batches_closed_total{${sel}}[$__rate_interval]))`,
              coordinatorPresent,
              'status',
            ),
            '{{status}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Dead letters /s by reason',
        description: 'Input messages sent to the dead-letter topic. 0 while coordinators report and none was.',
        unit: 'ops',
        queries: [
          q(
            orZeroWhile(
              `sum by (reason) (rate(coordinator_dead_letters_total{${sel}}[$__rate_interval]))`,
              coordinatorPresent,
              'reason',
            ),
            '{{reason}}',
          ),
        ],
      }),
    )
    .withRow(row(ids, 'Ingest'))
    .withPanel(
      timeseries(ids, {
        title: 'Ingest requests /s by route and status',
        description: 'HTTP requests the ingest service answered.',
        unit: 'reqps',
        span: 8,
        queries: [
          q('sum by (route, status) (rate(ingest_http_requests_total[$__rate_interval]))', '{{route}} {{status}}'),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Ingest latency p50 / p99',
        description: 'Request duration by route.',
        unit: 's',
        span: 8,
        queries: [
          q(quantile(0.5, 'ingest_http_request_duration_seconds', 'le, route', ''), 'p50 {{route}}'),
          q(quantile(0.99, 'ingest_http_request_duration_seconds', 'le, route', ''), 'p99 {{route}}'),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Ingest errors /s',
        description:
          'Responses other than 2xx, and events ingest failed to publish to Kafka. 0 once ingest served a request and none failed.',
        unit: 'ops',
        span: 8,
        queries: [
          q(
            orZeroWhile(
              'sum by (route, status) (rate(ingest_http_requests_total{status!~"2.."}[$__rate_interval]))',
              ingestPresent,
              'route',
            ),
            'HTTP {{route}} {{status}}',
          ),
          q(
            orZeroWhile(
              'sum by (event_type) (rate(ingest_publish_errors_total[$__rate_interval]))',
              ingestPresent,
              'event_type',
            ),
            'publish {{event_type}}',
          ),
        ],
      }),
    )
    .withRow(row(ids, 'Process'))
    .withPanel(
      timeseries(ids, {
        title: 'Resident memory per instance',
        description: 'RSS of each coordinator process.',
        unit: 'bytes',
        span: 8,
        // `instance_id!=""` keeps other processes out when All (.*) also matches an absent label.
        queries: [q(`process_resident_memory_bytes{instance_id!="", ${sel}}`, '{{instance_id}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'CPU per instance',
        description: 'CPU seconds per second of each coordinator process (1 = one core).',
        unit: 'percentunit',
        span: 8,
        queries: [q(`rate(process_cpu_seconds_total{instance_id!="", ${sel}}[$__rate_interval])`, '{{instance_id}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Event loop lag p99 per instance',
        description: 'A blocked or paused process shows here.',
        unit: 's',
        span: 8,
        queries: [q(`nodejs_eventloop_lag_p99_seconds{instance_id!="", ${sel}}`, '{{instance_id}}')],
      }),
    )
    .build();
}
