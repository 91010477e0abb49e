// 设备详情 / Device detail, for one device (template variable `device`, the `device` tag). The panels query every
// telemetry measurement at once (a device id is unique across types), so the same dashboard serves a loom, a
// dyeing machine or a meter: each panel shows the metrics that device's type has.
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { BigValueColorMode, BigValueGraphMode, GraphDrawStyle, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimeline } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as Table } from '@grafana/grafana-foundation-sdk/table';
import { ELECTRIC_MEASUREMENTS, STATE_MEASUREMENT, TELEMETRY_MEASUREMENTS, dashboard, influx, legend, legendTable, metricNames, stateMappings, tagVariable, tooltipAll } from './common.ts';
import { eq, from, ident, oneOf, select, sub, time } from './influxql.ts';

const DEVICE = [eq('device', '$device')];

/** `$col` of a regex field argument is "<function>_<field>": show the field name alone. */
const fieldNames = { id: 'renameByRegex', options: { regex: '^(?:mean|non_negative_difference)_(.+)$', renamePattern: '$1' } };

export function deviceDetail(): Dashboard {
  const gauges = metricNames('gauge', ['power_kw']);
  const counters = metricNames('counter', ['energy_kwh_total']);
  return dashboard(
    'dehong-device',
    '设备详情 / Device detail',
    'One device: its state, power, energy per hour, instantaneous metrics and counter increases, and its state changes.',
  )
    .withVariable(tagVariable('device', '设备 Device', `SHOW TAG VALUES FROM ${from(TELEMETRY_MEASUREMENTS)} WITH KEY = "device"`))
    .withRow(new RowBuilder('概况 / Overview'))
    .withPanel(
      new Stat()
        .title('最新状态 / Last reported state')
        .description('The last state message of the device within the selected range.')
        .withTarget(influx(select({ fields: 'last("state")', from: ident(STATE_MEASUREMENT), where: DEVICE }), 'A'))
        .mappings(stateMappings())
        .graphMode(BigValueGraphMode.None)
        .colorMode(BigValueColorMode.Background)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/.*/').values(false))
        .span(6)
        .height(5),
    )
    .withPanel(
      new Stat()
        .title('所选时段数据点 / Points in range')
        .withTarget(influx(select({ fields: 'count("seq")', from: from(TELEMETRY_MEASUREMENTS), where: DEVICE }), 'A', { alias: '$measurement' }))
        .unit('none')
        .graphMode(BigValueGraphMode.None)
        .colorMode(BigValueColorMode.None)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .span(6)
        .height(5),
    )
    .withPanel(
      new Stat()
        .title('平均功率 / Mean power')
        .withTarget(influx(select({ fields: 'mean("power_kw")', from: from(ELECTRIC_MEASUREMENTS), where: DEVICE }), 'A', { alias: '$measurement' }))
        .unit('kwatt')
        .decimals(2)
        .graphMode(BigValueGraphMode.None)
        .colorMode(BigValueColorMode.None)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .span(6)
        .height(5),
    )
    .withPanel(
      new Stat()
        .title('所选时段用电量 / Electricity in range')
        .withTarget(influx(
          select({ fields: 'sum("v")', from: sub(select({ fields: 'non_negative_difference(last("energy_kwh_total")) AS "v"', from: from(ELECTRIC_MEASUREMENTS), where: DEVICE, groupBy: [time()], fill: 'none' })) }),
          'A',
        ))
        .unit('kwatth')
        .decimals(1)
        .graphMode(BigValueGraphMode.None)
        .colorMode(BigValueColorMode.None)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .span(6)
        .height(5),
    )
    .withPanel(
      new StateTimeline()
        .title('状态 / State')
        .withTarget(influx(select({ fields: 'last("state")', from: ident(STATE_MEASUREMENT), where: DEVICE, groupBy: [time()], fill: 'previous' }), 'A', { alias: 'state' }))
        .mappings(stateMappings())
        .legend(legend())
        .span(24)
        .height(5),
    )
    .withRow(new RowBuilder('测量值 / Measurements'))
    .withPanel(
      new TimeSeries()
        .title('功率 / Power')
        .withTarget(influx(select({ fields: 'mean("power_kw")', from: from(ELECTRIC_MEASUREMENTS), where: DEVICE, groupBy: [time()], fill: 'none' }), 'A', { alias: 'power_kw' }))
        .unit('kwatt')
        .min(0)
        .legend(legend())
        .span(12)
        .height(8),
    )
    .withPanel(
      new TimeSeries()
        .title('每小时用电量 / Electricity per hour')
        .withTarget(influx(
          select({ fields: 'non_negative_difference(last("energy_kwh_total"))', from: from(ELECTRIC_MEASUREMENTS), where: DEVICE, groupBy: [time('1h')], fill: 'none' }),
          'A', { alias: 'kWh' },
        ))
        .unit('kwatth')
        .min(0)
        .drawStyle(GraphDrawStyle.Bars)
        .fillOpacity(80)
        .legend(legend())
        .span(12)
        .height(8),
    )
    .withPanel(
      new TimeSeries()
        .title('瞬时量 / Instantaneous metrics')
        .description('Mean per interval of every non-counter metric the device reports (units differ: see the catalogue).')
        .withTarget(influx(select({ fields: `mean(${oneOf(gauges)})`, from: from(TELEMETRY_MEASUREMENTS), where: DEVICE, groupBy: [time()], fill: 'none' }), 'A', { alias: '$col' }))
        .transformations([fieldNames])
        .unit('none')
        .legend(legendTable(['lastNotNull', 'min', 'max']))
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
    )
    .withPanel(
      new TimeSeries()
        .title('计数器增量 / Counter increase per interval')
        .description('Increase per interval of every cumulative register except energy (picks, metres, stops, steam, water, …).')
        .withTarget(influx(
          select({ fields: `non_negative_difference(last(${oneOf(counters)}))`, from: from(TELEMETRY_MEASUREMENTS), where: DEVICE, groupBy: [time()], fill: 'none' }),
          'A', { alias: '$col' },
        ))
        .transformations([fieldNames])
        .unit('none')
        .min(0)
        .legend(legendTable(['sum']))
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
    )
    .withPanel(
      new Table()
        .title('状态变化 / State changes')
        .withTarget(influx(
          select({ fields: '"state", "reason"', from: ident(STATE_MEASUREMENT), where: DEVICE, orderDesc: true, limit: 200 }),
          'A', { format: 'table' },
        ))
        .mappings(stateMappings())
        .span(24)
        .height(8),
    )
    .build();
}
