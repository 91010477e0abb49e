// What every dashboard shares: the provisioned InfluxDB data source, the measurement groups derived from the
// device catalogue, display names for county, park, segment and device-type codes, and small panel helpers.
import { DashboardCursorSync, DashboardBuilder, MappingType, QueryVariableBuilder, RowBuilder, VariableRefresh, VariableSort, type Dashboard, type DataTransformerConfig, type Panel, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { BarGaugeDisplayMode, BigValueColorMode, BigValueGraphMode, GraphDrawStyle, LegendDisplayMode, LegendPlacement, ReduceDataOptionsBuilder, SortOrder, TooltipDisplayMode, VizLegendOptionsBuilder, VizOrientation, VizTooltipOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import { PanelBuilder as BarGauge } from '@grafana/grafana-foundation-sdk/bargauge';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimeline } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { CATALOGUE, MACHINE_STATES, type MachineState } from '../common/contract/catalogue.ts';
import { STATE_MEASUREMENT } from '../common/contract/line-protocol.ts';
import { COUNTIES, PARKS, SEGMENTS } from '../common/places.ts';
import { InfluxQLQueryBuilder, from, ident, type InfluxResultFormat } from './influxql.ts';

/** The data source provisioned by deploy/grafana/provisioning/datasources/influxdb.yml (same uid). */
export const DATASOURCE: DataSourceRef = { type: 'influxdb', uid: 'dehong-influxdb' };

export const TAGS = ['dehong', 'textile', 'generated'];

/** Every telemetry measurement of the catalogue (machine_state excluded). */
export const TELEMETRY_MEASUREMENTS: readonly string[] = CATALOGUE.map((t) => t.measurement);

/** Measurements with an electricity register (`energy_kwh_total`) and `power_kw`. */
export const ELECTRIC_MEASUREMENTS: readonly string[] = CATALOGUE
  .filter((t) => t.metrics.some((m) => m.name === 'energy_kwh_total') && t.metrics.some((m) => m.name === 'power_kw'))
  .map((t) => t.measurement);

/**
 * The plant-boundary electricity meter. Machines are sub-metered behind it, so their energy is never added to the
 * meter's: the dashboards show either the meters (plant boundary) or the machines (where the energy goes).
 */
export const METER_MEASUREMENT = 'electricity_meter';
export const MACHINE_MEASUREMENTS: readonly string[] = ELECTRIC_MEASUREMENTS.filter((m) => m !== METER_MEASUREMENT);

export { STATE_MEASUREMENT };

/** Measurements whose type has `metric`; `machinesOnly` leaves out the meters (types named *_meter). */
export function measurementsWith(metric: string, machinesOnly = false): string[] {
  return CATALOGUE
    .filter((t) => t.metrics.some((m) => m.name === metric) && !(machinesOnly && t.type.endsWith('_meter')))
    .map((t) => t.measurement);
}

/** Non-counter and counter metric names across the catalogue (a device shows the ones its type has). */
export function metricNames(kind: 'gauge' | 'counter', exclude: readonly string[] = []): string[] {
  const names = new Set<string>();
  for (const t of CATALOGUE) for (const m of t.metrics) if (m.counter === (kind === 'counter') && !exclude.includes(m.name)) names.add(m.name);
  return [...names].sort();
}

/** An InfluxQL target on the provisioned data source. */
export function influx(query: string, refId: string, opts: { alias?: string; format?: InfluxResultFormat } = {}): InfluxQLQueryBuilder {
  const b = new InfluxQLQueryBuilder(query).refId(refId).datasource(DATASOURCE).resultFormat(opts.format ?? 'time_series');
  if (opts.alias) b.alias(opts.alias);
  return b;
}

/** A query variable named `tag` over the values of that tag in every telemetry measurement (a firm, a device). */
export function tagVariable(tag: 'firm' | 'device', label: string): QueryVariableBuilder {
  const query = `SHOW TAG VALUES FROM ${from(TELEMETRY_MEASUREMENTS)} WITH KEY = ${ident(tag)}`;
  return new QueryVariableBuilder(tag)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(false)
    .includeAll(false);
}

export function dashboard(uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(TAGS)
    .timezone('browser')
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly();
}

/** A row of a dashboard: its title and its panels, which the SDK lays out left to right, 24 columns a line. */
export interface Row {
  title: string;
  panels: ReadonlyArray<Builder<Panel>>;
}

/** Adds the rows and their panels in order and builds the dashboard. */
export function withRows(d: DashboardBuilder, rows: readonly Row[]): Dashboard {
  for (const row of rows) {
    d.withRow(new RowBuilder(row.title));
    for (const panel of row.panels) d.withPanel(panel);
  }
  return d.build();
}

export const legend = (): VizLegendOptionsBuilder =>
  new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]);

export const legendTable = (calcs: string[]): VizLegendOptionsBuilder =>
  new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.Table).placement(LegendPlacement.Right).calcs(calcs);

export const tooltipAll = (): VizTooltipOptionsBuilder => new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending);

/** Reduces every series (or the `fields` matched) to its last non-null value: stats and bar gauges over the range. */
export function lastValue(fields?: string): ReduceDataOptionsBuilder {
  const r = new ReduceDataOptionsBuilder().calcs(['lastNotNull']);
  if (fields !== undefined) r.fields(fields);
  return r.values(false);
}

export interface StatParts {
  title: string;
  description?: string;
  target: InfluxQLQueryBuilder;
  mappings?: ValueMapping[];
  unit?: string;
  decimals?: number;
  colorMode?: BigValueColorMode;
  reduce?: ReduceDataOptionsBuilder;
}

/** A plain number over the selected range: a quarter of a line wide, no sparkline, no colour. */
export function statPanel(p: StatParts): Stat {
  const s = new Stat().title(p.title);
  if (p.description !== undefined) s.description(p.description);
  s.withTarget(p.target);
  if (p.mappings !== undefined) s.mappings(p.mappings);
  if (p.unit !== undefined) s.unit(p.unit);
  if (p.decimals !== undefined) s.decimals(p.decimals);
  return s
    .graphMode(BigValueGraphMode.None)
    .colorMode(p.colorMode ?? BigValueColorMode.None)
    .reduceOptions(p.reduce ?? lastValue())
    .span(6)
    .height(5);
}

/** Horizontal bars of whole numbers from 0, one per series, each its last value over the range. */
export function rangeBars(panel: BarGauge, unit: string, mode: BarGaugeDisplayMode): BarGauge {
  return panel.unit(unit).decimals(0).min(0).displayMode(mode).orientation(VizOrientation.Horizontal).reduceOptions(lastValue());
}

/** Bars from 0 for quantities per bucket (kWh per hour, metres per hour). */
export function bars(panel: TimeSeries, unit: string, fillOpacity = 80): TimeSeries {
  return panel.unit(unit).min(0).drawStyle(GraphDrawStyle.Bars).fillOpacity(fillOpacity);
}

/** Machine states over time across the whole width, coloured and named as stateMappings() says. */
export function stateTimeline(p: { title: string; description?: string; target: InfluxQLQueryBuilder; height: number }): StateTimeline {
  const t = new StateTimeline().title(p.title);
  if (p.description !== undefined) t.description(p.description);
  return t.withTarget(p.target).mappings(stateMappings()).legend(legend()).span(24).height(p.height);
}

/** Series named by a code (`$tag_county` → "533102") renamed to the Chinese / English name. */
function renames(pairs: ReadonlyArray<readonly [string, string]>): DataTransformerConfig[] {
  return pairs.map(([code, name]) => ({ id: 'renameByRegex', options: { regex: `^${code}$`, renamePattern: name } }));
}

export const countyNames = (): DataTransformerConfig[] => renames(COUNTIES.map((c) => [c.code, `${c.zh} ${c.en}`] as const));
export const parkNames = (): DataTransformerConfig[] => renames(PARKS.map((p) => [p.id, p.zh] as const));
export const segmentNames = (): DataTransformerConfig[] => renames(SEGMENTS.map((s) => [s.id, `${s.zh} ${s.en}`] as const));
export const typeNames = (): DataTransformerConfig[] => renames(CATALOGUE.map((t) => [t.type, `${t.zh} ${t.en}`] as const));

const STATE_LOOK: Record<MachineState, { color: string; zh: string }> = {
  running: { color: 'green', zh: '运行' },
  idle: { color: 'yellow', zh: '待机' },
  setup: { color: 'blue', zh: '调试' },
  maintenance: { color: 'purple', zh: '维护' },
  fault: { color: 'red', zh: '故障' },
  stopped: { color: 'text', zh: '停机' },
};

/** OPC 40001-1 / SEMI E10 machine states with a colour and a bilingual label. */
export function stateMappings(): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  MACHINE_STATES.forEach((s, index) => {
    options[s] = { text: `${STATE_LOOK[s].zh} ${s}`, color: STATE_LOOK[s].color, index };
  });
  return [{ type: MappingType.ValueToText, options }];
}
