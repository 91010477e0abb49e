// 设备详情 / Device detail, for one device (template variable `device`, the `device` tag). The panels query every
// telemetry measurement at once (a device id is unique across types), so the same dashboard serves a loom, a
// dyeing machine or a meter: each panel shows the metrics that device's type has.
import type { Dashboard, DataTransformerConfig } from '@grafana/grafana-foundation-sdk/dashboard';
import { BigValueColorMode } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as Table } from '@grafana/grafana-foundation-sdk/table';
import { ELECTRIC_MEASUREMENTS, STATE_MEASUREMENT, TELEMETRY_MEASUREMENTS, bars, dashboard, influx, lastValue, legend, legendTable, metricNames, stateMappings, stateTimeline, statPanel, tagVariable, tooltipAll, withRows, type Row } from './common.ts';
import { eq, from, ident, select, sub, time } from './influxql.ts';
import { increasePerSeries, lastState, meanPerSeries } from './queries.ts';

const DEVICE = [eq('device', '$device')];
const ELECTRIC = { measurements: ELECTRIC_MEASUREMENTS, where: DEVICE };
const TELEMETRY = { measurements: TELEMETRY_MEASUREMENTS, where: DEVICE };

/** `$col` of a regex field argument is "<function>_<field>": show the field name alone. */
const fieldNames: DataTransformerConfig = { id: 'renameByRegex', options: { regex: '^(?:mean|non_negative_difference)_(.+)$', renamePattern: '$1' } };

export function deviceDetail(): Dashboard {
  return withRows(
    dashboard(
      'dehong-device',
      '设备详情 / Device detail',
      'One device: its state, power, energy per hour, instantaneous metrics and counter increases, and its state changes.',
    ).withVariable(tagVariable('device', '设备 Device')),
    [overviewRow(), measurementsRow()],
  );
}

/** Last state, points, mean power and energy over the range, and the state over time. */
function overviewRow(): Row {
  return {
    title: '概况 / Overview',
    panels: [
      statPanel({
        title: '最新状态 / Last reported state',
        description: 'The last state message of the device within the selected range.',
        target: influx(select({ fields: 'last("state")', from: ident(STATE_MEASUREMENT), where: DEVICE }), 'A'),
        mappings: stateMappings(),
        colorMode: BigValueColorMode.Background,
        reduce: lastValue('/.*/'),
      }),
      statPanel({
        title: '所选时段数据点 / Points in range',
        target: influx(select({ fields: 'count("seq")', from: from(TELEMETRY_MEASUREMENTS), where: DEVICE }), 'A', { alias: '$measurement' }),
        unit: 'none',
      }),
      statPanel({
        title: '平均功率 / Mean power',
        target: influx(select({ fields: 'mean("power_kw")', from: from(ELECTRIC_MEASUREMENTS), where: DEVICE }), 'A', { alias: '$measurement' }),
        unit: 'kwatt',
        decimals: 2,
      }),
      statPanel({
        title: '所选时段用电量 / Electricity in range',
        target: influx(select({ fields: 'sum("v")', from: sub(energyPerInterval()) }), 'A'),
        unit: 'kwatth',
        decimals: 1,
      }),
      stateTimeline({ title: '状态 / State', target: influx(lastState(DEVICE), 'A', { alias: 'state' }), height: 5 }),
    ],
  };
}

/** The kWh register's increase per `$__interval`, summed by the outer query over the range. */
function energyPerInterval(): string {
  return select({
    fields: 'non_negative_difference(last("energy_kwh_total")) AS "v"', from: from(ELECTRIC_MEASUREMENTS), where: DEVICE,
    groupBy: [time()], fill: 'none',
  });
}

/** Power and energy per hour, every other metric the device's type has, and its state changes. */
function measurementsRow(): Row {
  return {
    title: '测量值 / Measurements',
    panels: [
      new TimeSeries()
        .title('功率 / Power')
        .withTarget(influx(meanPerSeries('power_kw', ELECTRIC), 'A', { alias: 'power_kw' }))
        .unit('kwatt')
        .min(0)
        .legend(legend())
        .span(12)
        .height(8),
      bars(new TimeSeries().title('每小时用电量 / Electricity per hour').withTarget(influx(increasePerSeries('energy_kwh_total', ELECTRIC, '1h'), 'A', { alias: 'kWh' })), 'kwatth')
        .legend(legend())
        .span(12)
        .height(8),
      ...metricPanels(),
      new Table()
        .title('状态变化 / State changes')
        .withTarget(influx(
          select({ fields: '"state", "reason"', from: ident(STATE_MEASUREMENT), where: DEVICE, orderDesc: true, limit: 200 }),
          'A', { format: 'table' },
        ))
        .mappings(stateMappings())
        .span(24)
        .height(8),
    ],
  };
}

/** Every non-counter metric, and every counter but energy, each series named by its field. */
function metricPanels(): TimeSeries[] {
  return [
    new TimeSeries()
      .title('瞬时量 / Instantaneous metrics')
      .description('Mean per interval of every non-counter metric the device reports (units differ: see the catalogue).')
      .withTarget(influx(meanPerSeries(metricNames('gauge', ['power_kw']), TELEMETRY), 'A', { alias: '$col' }))
      .transformations([fieldNames])
      .unit('none')
      .legend(legendTable(['lastNotNull', 'min', 'max']))
      .tooltip(tooltipAll())
      .span(12)
      .height(9),
    new TimeSeries()
      .title('计数器增量 / Counter increase per interval')
      .description('Increase per interval of every cumulative register except energy (picks, metres, stops, steam, water, …).')
      .withTarget(influx(increasePerSeries(metricNames('counter', ['energy_kwh_total']), TELEMETRY), 'A', { alias: '$col' }))
      .transformations([fieldNames])
      .unit('none')
      .min(0)
      .legend(legendTable(['sum']))
      .tooltip(tooltipAll())
      .span(12)
      .height(9),
  ];
}
