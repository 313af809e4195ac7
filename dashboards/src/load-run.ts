/**
 * One page for a load run: what k6 sent and what it measured (arriving by
 * Prometheus remote write, trend stats p50/p95/p99/avg), next to what the
 * coordinator made of it. `$testid` picks the run by k6's `testid` tag.
 *
 * k6's remote-write output names a Trend `k6_<metric>_<stat>` (gauges, in
 * seconds for time trends), a Rate `k6_<metric>_rate`, a Counter
 * `k6_<metric>_total`; every series carries the run's tags.
 */
import {
  type Dashboard,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, datasource, orZeroWhile, PanelIds, q, row, stat, timeseries } from './common.js';

export const LOAD_RUN_UID = 'load-run';

const run = 'testid=~"$testid"';
const durationStats = ['p50', 'p95', 'p99', 'avg'] as const;

export function loadRun(): Dashboard {
  const ids = new PanelIds();
  return baseDashboard({
    uid: LOAD_RUN_UID,
    title: 'Load run',
    description: 'k6 request rate, latency, failures and VUs beside coordinator throughput, latency and lag.',
    tags: ['load', 'k6'],
  })
    .withVariable(
      new QueryVariableBuilder('testid')
        .label('Test id')
        .description("k6's testid tag; All also matches a run that set none")
        .datasource(datasource)
        .query('label_values(k6_vus, testid)')
        .definition('label_values(k6_vus, testid)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalDesc)
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .current({ text: 'All', value: '$__all', selected: true }),
    )
    .withRow(row(ids, 'Summary'))
    .withPanel(
      stat(ids, {
        title: 'Requests /s',
        description: 'All requests of the selected runs.',
        unit: 'reqps',
        queries: [q(`sum(rate(k6_http_reqs_total{${run}}[$__rate_interval]))`, 'req/s')],
      }),
    )
    .withPanel(
      stat(ids, {
        title: 'Request duration p95',
        description: 'Worst p95 among request names.',
        unit: 's',
        queries: [q(`max(k6_http_req_duration_p95{${run}})`, 'p95')],
      }),
    )
    .withPanel(
      stat(ids, {
        title: 'Failed requests',
        description: 'Share of requests k6 counts as failed (http_req_failed).',
        unit: 'percentunit',
        queries: [q(`max(k6_http_req_failed_rate{${run}})`, 'failed')],
      }),
    )
    .withPanel(
      stat(ids, {
        title: 'VUs',
        description: 'Virtual users active now.',
        unit: 'none',
        queries: [q(`sum(k6_vus{${run}})`, 'VUs')],
      }),
    )
    .withRow(row(ids, 'k6'))
    .withPanel(
      timeseries(ids, {
        title: 'Requests /s by name and status',
        description: 'k6 http_reqs.',
        unit: 'reqps',
        queries: [
          q(`sum by (name, status) (rate(k6_http_reqs_total{${run}}[$__rate_interval]))`, '{{name}} {{status}}'),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Request duration',
        description:
          'http_req_duration trend stats as k6 computed them per flush; the largest value among series of a name.',
        unit: 's',
        queries: durationStats.map((s) => q(`max by (name) (k6_http_req_duration_${s}{${run}})`, `${s} {{name}}`)),
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Failure rate',
        description: 'http_req_failed: share of failed requests by name.',
        unit: 'percentunit',
        span: 8,
        queries: [q(`max by (name) (k6_http_req_failed_rate{${run}})`, '{{name}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'VUs',
        description: 'Active virtual users and the most the run may use.',
        unit: 'none',
        span: 8,
        queries: [q(`sum(k6_vus{${run}})`, 'vus'), q(`sum(k6_vus_max{${run}})`, 'vus max')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Iterations /s',
        description:
          'Completed and dropped iterations. Dropped means the arrival-rate executor had no free VU; 0 while iterations complete and none was dropped.',
        unit: 'ops',
        span: 8,
        queries: [
          q(`sum(rate(k6_iterations_total{${run}}[$__rate_interval]))`, 'completed'),
          // k6 emits dropped_iterations only when one is dropped.
          q(
            orZeroWhile(
              `sum(rate(k6_dropped_iterations_total{${run}}[$__rate_interval]))`,
              `k6_iterations_total{${run}}`,
            ),
            'dropped',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Data sent / received',
        description: 'Bytes per second k6 put on and took off the wire.',
        unit: 'Bps',
        span: 24,
        height: 6,
        queries: [
          q(`sum(rate(k6_data_sent_total{${run}}[$__rate_interval]))`, 'sent'),
          q(`sum(rate(k6_data_received_total{${run}}[$__rate_interval]))`, 'received'),
        ],
      }),
    )
    .withRow(row(ids, 'Coordinator under this load'))
    .withPanel(
      timeseries(ids, {
        title: 'Coordinator events consumed /s by outcome',
        description: 'What reached the coordinator through ingest and Kafka.',
        unit: 'ops',
        span: 8,
        queries: [q('sum by (outcome) (rate(coordinator_events_consumed_total[$__rate_interval]))', '{{outcome}}')],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Assignment latency p99',
        description: 'Time to settle one content event, all instances.',
        unit: 's',
        span: 8,
        queries: [
          q(
            'histogram_quantile(0.99, sum by (le) (rate(coordinator_assignment_duration_seconds_bucket[$__rate_interval])))',
            'p99',
          ),
        ],
      }),
    )
    .withPanel(
      timeseries(ids, {
        title: 'Consumer lag',
        description: 'Messages the coordinator group is behind; growing lag means the load outruns it.',
        unit: 'none',
        span: 8,
        queries: [q('sum(coordinator_consumer_lag)', 'lag')],
      }),
    )
    .build();
}
