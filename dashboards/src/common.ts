/**
 * Pieces every dashboard shares: the datasource variable, the Prometheus query
 * builder with refIds handed out in order, the panel kinds we use, stable
 * panel ids, and the "zero while the source reports" fallback.
 *
 * Panels and targets point at the datasource through `${datasource}` so one
 * JSON file works against whichever Prometheus the importer picks.
 */
import {
  BigValueGraphMode,
  type DataSourceRef,
  GraphDrawStyle,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  TooltipDisplayMode,
  VisibilityMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  FieldColorBuilder,
  FieldColorModeId,
  MappingType,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  TimePickerBuilder,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

export const DATASOURCE_VARIABLE = 'datasource';
export const datasource: DataSourceRef = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };

/** One PromQL target before it gets its refId. */
export interface Query {
  readonly expr: string;
  /** Grafana legend template, e.g. `{{instance_id}}`. */
  readonly legend: string;
}

export const q = (expr: string, legend: string): Query => ({ expr, legend });

/** A target on a time-series panel; refIds are A, B, C… in the order given. */
function targets(queries: readonly Query[], instant = false): DataqueryBuilder[] {
  return queries.map((query, i) => {
    const target = new DataqueryBuilder()
      .datasource(datasource)
      .refId(String.fromCharCode(65 + i))
      .expr(query.expr)
      .legendFormat(query.legend);
    return instant ? target.instant() : target.range();
  });
}

/**
 * Appends a series of value 0 when `expr` has none but `presence` has some.
 *
 * Labelled Prometheus counters have no series until the first increment, so a
 * panel of errors stays "No data" through a clean run — indistinguishable from
 * a scrape that is broken. `presence` is a series the same source always
 * exports, so the 0 appears only while that source is really reporting; with
 * no source at all the panel still says "No data", which is the truth. The 0
 * carries `label="none"` so the panel's legend reads e.g. "dependency none".
 */
export function orZeroWhile(expr: string, presence: string, label?: string): string {
  const zero = `0 * count(${presence})`;
  return `${expr} or on() ${label === undefined ? `(${zero})` : `label_replace(${zero}, "${label}", "none", "", "")`}`;
}

export interface PanelOptions {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly queries: readonly Query[];
  /** Grid width out of 24. Default 12. */
  readonly span?: number;
  /** Grid height. Default 8. */
  readonly height?: number;
}

/** Hands out panel ids 1, 2, 3… in the order panels are built, so ids stay stable as long as the order does. */
export class PanelIds {
  private last = 0;
  next(): number {
    return ++this.last;
  }
}

/** `bars` suits counts of rare events (restarts, joins), where a line between two zeros would hide a single spike. */
export function timeseries(ids: PanelIds, o: PanelOptions & { readonly bars?: boolean }): TimeseriesBuilder {
  return new TimeseriesBuilder()
    .id(ids.next())
    .title(o.title)
    .description(o.description)
    .datasource(datasource)
    .unit(o.unit)
    .span(o.span ?? 12)
    .height(o.height ?? 8)
    .targets(targets(o.queries))
    .fillOpacity(10)
    .lineWidth(1)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom),
    )
    .drawStyle(o.bars ? GraphDrawStyle.Bars : GraphDrawStyle.Line)
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
}

export function stat(ids: PanelIds, o: PanelOptions): StatBuilder {
  return new StatBuilder()
    .id(ids.next())
    .title(o.title)
    .description(o.description)
    .datasource(datasource)
    .unit(o.unit)
    .span(o.span ?? 6)
    .height(o.height ?? 4)
    .targets(targets(o.queries))
    .graphMode(BigValueGraphMode.Area)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
}

/** A state timeline of 0/1 gauges, each value shown as a word with a colour. */
export function stateTimeline(
  ids: PanelIds,
  o: PanelOptions & { readonly states: Readonly<Record<'0' | '1', { text: string; color: string }>> },
): StateTimelineBuilder {
  return new StateTimelineBuilder()
    .id(ids.next())
    .title(o.title)
    .description(o.description)
    .datasource(datasource)
    .unit(o.unit)
    .span(o.span ?? 24)
    .height(o.height ?? 6)
    .targets(targets(o.queries))
    .mappings([
      {
        type: MappingType.ValueToText,
        options: {
          '0': { ...o.states['0'], index: 0 },
          '1': { ...o.states['1'], index: 1 },
        },
      },
    ])
    .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.Thresholds))
    .thresholds(
      new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: o.states['0'].color }]),
    )
    .mergeValues(true)
    .showValue(VisibilityMode.Never)
    .legend(new VizLegendOptionsBuilder().showLegend(false))
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Single));
}

export const row = (ids: PanelIds, title: string): RowBuilder => new RowBuilder(title).id(ids.next());

export interface DashboardHeader {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
}

/** Time, refresh and the datasource variable every dashboard here starts with. */
export function baseDashboard(h: DashboardHeader): DashboardBuilder {
  return new DashboardBuilder(h.title)
    .uid(h.uid)
    .description(h.description)
    .tags(['chaos-lab', ...h.tags])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .timezone('browser')
    .time({ from: 'now-15m', to: 'now' })
    .refresh('5s')
    .timepicker(new TimePickerBuilder().refreshIntervals(['5s', '10s', '30s', '1m', '5m']))
    .withVariable(
      new DatasourceVariableBuilder(DATASOURCE_VARIABLE)
        .label('Prometheus')
        .type('prometheus')
        .current({ text: 'default', value: 'default', selected: true }),
    );
}
