import {
  DashboardBuilder,
  RowBuilder,
  type Dashboard,
  type VariableModel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { describe, expect, it } from 'vitest';
import { allPanels, dashboards, panelQueries } from './index.js';

const all = dashboards();
const byUid = (uid: string): Dashboard => {
  const d = all.find((x) => x.uid === uid);
  if (d === undefined) throw new Error(`no dashboard ${uid}`);
  return d.json;
};
const variable = (json: Dashboard, name: string): VariableModel | undefined =>
  json.templating?.list?.find((v) => v.name === name);

describe('dashboards()', () => {
  it('builds the three dashboards with stable uids, each to its own file', () => {
    expect(all.map((d) => d.uid)).toEqual(['coordinator-overview', 'chaos-timeline', 'load-run']);
    for (const d of all) {
      expect(d.json.uid).toBe(d.uid);
      expect(d.file.endsWith(`/dashboards/generated/${d.uid}.json`)).toBe(true);
    }
  });

  it.each(all)('$uid: Prometheus datasource variable, last 15 minutes, refresh 5s', ({ json }) => {
    expect(variable(json, 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(json.time).toEqual({ from: 'now-15m', to: 'now' });
    expect(json.refresh).toBe('5s');
  });

  it.each(all)('$uid: every panel has a target with an expr, refIds unique, on the variable datasource', ({ json }) => {
    const panels = allPanels(json);
    expect(panels.length).toBeGreaterThan(5);
    for (const panel of panels) {
      const targets = (panel.targets ?? []) as { refId?: string; expr?: string; datasource?: unknown }[];
      expect(
        targets.some((t) => (t.expr ?? '').trim() !== ''),
        `${panel.title}`,
      ).toBe(true);
      expect(new Set(targets.map((t) => t.refId)).size, `${panel.title}`).toBe(targets.length);
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of targets) expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it.each(all)('$uid: panel ids unique, panels inside the 24-column grid and not overlapping', ({ json }) => {
    const everything = [...(json.panels ?? [])];
    const ids = everything.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => typeof id === 'number' && id > 0)).toBe(true);
    const cells = new Map<string, string>();
    for (const p of everything) {
      const g = p.gridPos;
      if (g === undefined) throw new Error(`${p.title} has no gridPos`);
      expect(g.x + g.w, `${p.title}`).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const other = cells.get(`${x},${y}`);
          expect(other, `${p.title} overlaps ${other}`).toBeUndefined();
          cells.set(`${x},${y}`, p.title ?? '');
        }
      }
    }
  });

  it.each(all)('$uid: every variable a query uses is declared', ({ uid, json }) => {
    const declared = new Set((json.templating?.list ?? []).map((v) => v.name));
    for (const { panel, expr } of panelQueries().filter((q) => q.dashboard === uid)) {
      for (const [, braced, bare] of expr.matchAll(/\$\{(\w+)[^}]*\}|\$(\w+)/g)) {
        const name = braced ?? bare ?? '';
        if (name.startsWith('__')) continue;
        expect(declared.has(name), `${panel}: $${name}`).toBe(true);
      }
    }
  });
});

describe('coordinator-overview', () => {
  const json = byUid('coordinator-overview');

  it('has the instance variable over instance_id, multi with All', () => {
    expect(variable(json, 'instance')).toMatchObject({
      type: 'query',
      query: 'label_values(coordinator_events_consumed_total, instance_id)',
      multi: true,
      includeAll: true,
      allValue: '.*',
    });
  });

  it('filters every coordinator metric and every process metric by $instance', () => {
    const queries = panelQueries().filter((q) => q.dashboard === 'coordinator-overview');
    for (const { panel, expr } of queries) {
      for (const [selector] of expr.matchAll(/\b(coordinator_|process_|nodejs_)\w+(\{[^}]*\})?/g)) {
        expect(selector, `${panel}: ${expr}`).toContain('instance_id=~"$instance"');
      }
    }
  });
});

describe('load-run', () => {
  it('has the testid variable and filters every k6 metric by it', () => {
    const json = byUid('load-run');
    expect(variable(json, 'testid')).toMatchObject({ type: 'query', multi: true, includeAll: true, allValue: '.*' });
    const queries = panelQueries().filter((q) => q.dashboard === 'load-run');
    for (const { panel, expr } of queries) {
      for (const [selector] of expr.matchAll(/\bk6_\w+(\{[^}]*\})?/g)) {
        expect(selector, `${panel}: ${expr}`).toContain('testid=~"$testid"');
      }
    }
  });
});

describe('chaos-timeline', () => {
  const json = byUid('chaos-timeline');

  it('opens with the fault windows as a state timeline of lab_fault_active', () => {
    const [first] = allPanels(json);
    expect(first?.type).toBe('state-timeline');
    expect(JSON.stringify(first?.targets)).toContain('lab_fault_active');
  });

  it('annotates the fault windows from a Prometheus query on lab_fault_active', () => {
    const faults = json.annotations?.list?.find((a) => a.name === 'Faults');
    expect(faults).toMatchObject({ enable: true, datasource: { type: 'prometheus', uid: '${datasource}' } });
    expect(faults?.expr).toContain('lab_fault_active');
  });
});

describe('panelQueries()', () => {
  const queries = panelQueries();

  it('lists every target of every panel', () => {
    const targets = all.flatMap((d) => allPanels(d.json).flatMap((p) => p.targets ?? []));
    expect(queries).toHaveLength(targets.length);
    expect(queries.every((q) => q.expr !== '' && q.refId !== '' && q.panel !== '')).toBe(true);
  });

  it('reaches panels inside collapsed rows', () => {
    const target = new DataqueryBuilder().refId('A').expr('up');
    const json = new DashboardBuilder('t')
      .withPanel(new PanelBuilder().title('top').withTarget(target))
      .withRow(new RowBuilder('r').withPanel(new PanelBuilder().title('nested').withTarget(target)))
      .build();
    expect(json.panels?.[1]).toMatchObject({ type: 'row', collapsed: true });
    expect(allPanels(json).map((p) => p.title)).toEqual(['top', 'nested']);
  });

  it('covers every metric the dashboards are meant to show', () => {
    const text = queries.map((q) => q.expr).join('\n');
    const metrics = [
      'coordinator_events_consumed_total',
      'coordinator_assignment_duration_seconds_bucket',
      'coordinator_dependency_duration_seconds_bucket',
      'coordinator_dependency_errors_total',
      'coordinator_batches_closed_total',
      'coordinator_dead_letters_total',
      'coordinator_outbox_published_total',
      'coordinator_outbox_pending',
      'coordinator_outbox_lag_seconds',
      'coordinator_consumer_lag',
      'coordinator_consumer_restarts_total',
      'coordinator_kafka_client_errors_total',
      'coordinator_assigned_partitions',
      'ingest_http_requests_total',
      'ingest_http_request_duration_seconds_bucket',
      'ingest_publish_errors_total',
      'process_resident_memory_bytes',
      'lab_fault_active',
      'fault_proxy_toxics_active',
      'fault_proxy_proxy_enabled',
      'fault_proxy_connections_active',
      'kafka_mock_broker_up',
      'k6_http_reqs_total',
      'k6_http_req_duration_p50',
      'k6_http_req_duration_p95',
      'k6_http_req_duration_p99',
      'k6_http_req_duration_avg',
      'k6_http_req_failed_rate',
      'k6_vus',
      'k6_vus_max',
      'k6_iterations_total',
      'k6_dropped_iterations_total',
      'k6_data_sent_total',
      'k6_data_received_total',
    ];
    expect(metrics.filter((m) => !new RegExp(`\\b${m}\\b`).test(text))).toEqual([]);
  });
});
