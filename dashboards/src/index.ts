/**
 * Grafana dashboards for the chaos lab, built with grafana-foundation-sdk and
 * committed as JSON under `dashboards/generated/` (see generate.ts).
 *
 * Besides the dashboards this module hands out every panel query, so tests can
 * run them against a real Prometheus: {@link panelQueries} with
 * {@link resolveGrafanaVariables} turns a panel into plain PromQL.
 */
import { fileURLToPath } from 'node:url';
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { CHAOS_TIMELINE_UID, chaosTimeline } from './chaos-timeline.js';
import { COORDINATOR_OVERVIEW_UID, coordinatorOverview } from './coordinator-overview.js';
import { LOAD_RUN_UID, loadRun } from './load-run.js';

export {
  ALL,
  DashboardsError,
  InvalidOptionError,
  resolveGrafanaVariables,
  UnknownVariableError,
  type ResolveOptions,
  type VariableValue,
} from './variables.js';
export { CHAOS_TIMELINE_UID, COORDINATOR_OVERVIEW_UID, LOAD_RUN_UID };

/** Where the committed JSON lives: `dashboards/generated/`, the same from `src/` (tsx, vitest) and `dist/`. */
export const GENERATED_DIR = fileURLToPath(new URL('../generated/', import.meta.url));

export interface GeneratedDashboard {
  readonly uid: string;
  readonly title: string;
  /** Absolute path of the committed JSON, `<GENERATED_DIR>/<uid>.json`. */
  readonly file: string;
  /** The SDK's built dashboard object, as written to `file`. */
  readonly json: Dashboard;
}

export interface PanelQuery {
  /** Dashboard uid. */
  readonly dashboard: string;
  /** Panel title. */
  readonly panel: string;
  readonly refId: string;
  /** PromQL with Grafana variables still in it. */
  readonly expr: string;
}

const builders: readonly (() => Dashboard)[] = [coordinatorOverview, chaosTimeline, loadRun];

export function dashboards(): GeneratedDashboard[] {
  return builders.map((build) => {
    const json = build();
    if (json.uid === undefined) throw new Error(`dashboard "${json.title}" has no uid`);
    return { uid: json.uid, title: json.title ?? json.uid, file: `${GENERATED_DIR}${json.uid}.json`, json };
  });
}

/** Top-level panels followed by the panels inside rows, in document order. */
export function allPanels(json: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of json.panels ?? []) {
    if (isRow(p)) out.push(...(p.panels ?? []));
    else out.push(p);
  }
  return out;
}

const isRow = (p: Panel | RowPanel): p is RowPanel => p.type === 'row';

/** Every target of every panel (collapsed rows included) that carries a PromQL `expr`. */
export function panelQueries(): PanelQuery[] {
  return dashboards().flatMap(({ uid, json }) =>
    allPanels(json).flatMap((panel) =>
      (panel.targets ?? []).map((target) => {
        const { refId, expr } = target as { refId?: string; expr?: unknown };
        return {
          dashboard: uid,
          panel: panel.title ?? '',
          refId: refId ?? '',
          expr: typeof expr === 'string' ? expr : '',
        };
      }),
    ),
  );
}
