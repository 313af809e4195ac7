/**
 * A short load on the local environment, with one fault in the middle, and
 * what people look at afterwards:
 *  - the k6-style summary and thresholds, and every batch the load completed
 *    closed with a ready event;
 *  - every panel query of every committed Grafana dashboard, run against the
 *    run's real Prometheus: each must succeed AND return at least one series
 *    (a panel that shows nothing after a load run is a broken panel);
 *  - the run report, opened in headless Chromium: no console error, every
 *    chart drawn with data, the fault on the timeline; its screenshot is kept
 *    in runs/screenshots/.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ALL, panelQueries, resolveGrafanaVariables } from '@chaos-lab/dashboards';
import type { PlannedFault } from '@chaos-lab/lab';
import { checkReportInBrowser, type ReportCheck } from '@chaos-lab/report/browser';
import { resolveProfile, runLoad, type LoadRunResult } from './run-load.js';

interface PanelOutcome {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
  readonly series: number;
  readonly error?: string;
}

let run: LoadRunResult;
const panels: PanelOutcome[] = [];
const lines: string[] = [];

// A Redis latency toxic on one coordinator's link for 3 s, a third of the way in: the chaos timeline's fault
// panels then have a fault to show, and the fault proxy's toxic gauges a toxic to count.
const fault: PlannedFault = {
  at: 4000,
  durationMs: 3000,
  spec: {
    kind: 'link-toxic',
    link: 'redis',
    target: 'coordinator-1',
    toxic: { type: 'latency', attributes: { latency: 20, jitter: 5 } },
  },
};

beforeAll(async () => {
  const smoke = await resolveProfile('smoke');
  run = await runLoad({
    profile: { ...smoke, arrival: { ...smoke.arrival, duration: '12s' } as typeof smoke.arrival },
    instances: 3,
    faults: [fault],
    out: (l) => lines.push(l),
    progress: () => {},
    beforeStop: async (stack) => {
      const prometheus = stack.env.prometheus!;
      for (const q of panelQueries()) {
        // Grafana's $__rate_interval is at least four scrape intervals (1 s here); a minute covers the run.
        const expr = resolveGrafanaVariables(q.expr, {
          rateInterval: '1m',
          interval: '1s',
          range: '5m',
          vars: { instance: ALL, testid: ALL },
        });
        try {
          panels.push({ ...q, expr, series: (await prometheus.query(expr)).length });
        } catch (err) {
          panels.push({ ...q, expr, series: 0, error: (err as Error).message });
        }
      }
    },
  });
}, 240_000);

describe('a load run on the local environment', () => {
  it('ends with the k6-style summary, the threshold verdicts, and every completed batch ready', () => {
    expect(run.summary).toMatch(/http_req_duration\.+: avg=/);
    expect(run.summary).toMatch(/dropped_iterations\.+: \d+ /);
    expect(run.summary).toMatch(/http_reqs\.+: \d+/);
    expect(run.driver.thresholds.results.length).toBeGreaterThan(0);
    expect(run.owed).toBeGreaterThan(5);
    expect(run.missing).toEqual([]);
    expect(run.ready).toBe(run.owed);
    expect(lines.join('\n')).toContain(`report: ${run.reportPath}`);
  });

  it('every panel query of every dashboard returns series from the real Prometheus', () => {
    const failed = panels.filter((p) => p.error !== undefined || p.series === 0);
    const dashboards = new Set(panels.map((p) => p.dashboard));
    const panelCount = new Set(panels.map((p) => `${p.dashboard}/${p.panel}`)).size;
    console.log(
      `panel queries: ${panels.length} queries of ${panelCount} panels in ${dashboards.size} dashboards, ${panels.length - failed.length} with series`,
    );
    expect(panels.length).toBeGreaterThan(50);
    expect(
      failed.map((p) => `${p.dashboard} / ${p.panel} / ${p.refId}: ${p.error ?? 'no series'} — ${p.expr}`),
    ).toEqual([]);
  });

  it('writes a report that Chromium draws without errors, every chart with data, the fault on the timeline', async () => {
    const check: ReportCheck = await checkReportInBrowser(run.reportPath, {
      screenshotPath: join('runs', 'screenshots', 'load-report-smoke.png'),
    });
    expect(check.consoleErrors).toEqual([]);
    expect(check.ready).toBe(true);
    expect(check.charts.length).toBe(5);
    for (const c of check.charts) expect(c, `chart ${c.id}`).toMatchObject({ drawn: true, empty: false, blank: false });
    expect(check.faultsShown).toBe(1);
  }, 60_000);
});
