// 数据接入健康 / Ingest health, seen from InfluxDB: what actually reached the database. Points per minute per
// measurement, devices reporting per type, the last point of every device, and sequence gaps (messages a device
// numbered but that never arrived).
//
// The service's own Prometheus /metrics (prom-client: connected devices, messages in / accepted / rejected, spool
// depth, write latency, InfluxDB errors) is coming; panels over it will join this dashboard with a Prometheus data
// source. Until then this dashboard reads InfluxDB only.
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as Table } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as Text } from '@grafana/grafana-foundation-sdk/text';
import { TextMode } from '@grafana/grafana-foundation-sdk/text';
import { STATE_MEASUREMENT, TELEMETRY_MEASUREMENTS, dashboard, influx, legend, legendTable, tooltipAll, typeNames } from './common.ts';
import { from, ident, select, sub, tags, time } from './influxql.ts';

/** Points per minute whatever the interval Grafana picks: count per $__interval scaled by 60000 / $__interval_ms. */
const PER_MINUTE = '* 60000 / $__interval_ms';

export function ingestHealth(): Dashboard {
  const telemetry = from(TELEMETRY_MEASUREMENTS);
  return dashboard(
    'dehong-ingest-health',
    '数据接入健康 / Ingest health',
    'What reached InfluxDB: points per minute per measurement, reporting devices, last point per device and sequence gaps. '
      + 'The service\'s Prometheus /metrics (accepted / rejected messages, spool depth, write latency) will be added here.',
  )
    .withRow(new RowBuilder('写入量 / Points written'))
    .withPanel(
      new TimeSeries()
        .title('每分钟数据点（按测量）/ Points per minute per measurement')
        .withTarget(influx(
          select({ fields: `count("seq") ${PER_MINUTE} AS "points"`, from: telemetry, groupBy: [time()], fill: 0 }),
          'A', { alias: '$measurement' },
        ))
        .withTarget(influx(
          select({ fields: `count("state") ${PER_MINUTE} AS "points"`, from: ident(STATE_MEASUREMENT), groupBy: [time()], fill: 0 }),
          'B', { alias: '$measurement' },
        ))
        .unit('none')
        .min(0)
        .legend(legendTable(['mean', 'lastNotNull']))
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
    )
    .withPanel(
      new TimeSeries()
        .title('上报设备数（按设备类型）/ Devices reporting per device type')
        .withTarget(influx(
          select({
            fields: 'count("n")',
            from: sub(select({ fields: 'count("seq") AS "n"', from: telemetry, groupBy: [time(), ...tags('device', 'type')], fill: 'none' })),
            groupBy: [time(), ...tags('type')],
            fill: 0,
          }),
          'A', { alias: '$tag_type' },
        ))
        .transformations(typeNames())
        .unit('none')
        .decimals(0)
        .min(0)
        .legend(legend())
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
    )
    .withRow(new RowBuilder('设备 / Devices'))
    .withPanel(
      new Table()
        .title('各设备最后数据点 / Last point per device')
        .description('Time and sequence number of the newest point of every device in the range.')
        .withTarget(influx(select({ fields: 'last("seq") AS "seq"', from: telemetry, groupBy: tags('firm', 'device') }), 'A', { format: 'table' }))
        .span(12)
        .height(10),
    )
    .withPanel(
      new Table()
        .title('序号缺口 / Sequence gaps per device')
        .description('Messages a device numbered that never reached InfluxDB: the sum of (seq step − 1) over the steps above 1. '
          + 'A device restart that resets its numbering is a negative step and is not counted.')
        .withTarget(influx(
          select({
            fields: 'sum("gap") AS "missing", count("gap") AS "gaps"',
            from: sub(select({ fields: 'difference("seq") - 1 AS "gap"', from: telemetry, groupBy: tags('firm', 'device') })),
            where: ['"gap" > 0'],
            groupBy: tags('firm', 'device'),
          }),
          'A', { format: 'table' },
        ))
        .noValue('0')
        .span(12)
        .height(10),
    )
    .withPanel(
      new Text()
        .title('服务指标 / Service metrics')
        .mode(TextMode.Markdown)
        .content('The ingest service\'s own Prometheus `/metrics` (connected devices, messages in / accepted / rejected, '
          + 'spool depth, InfluxDB write latency and errors) is coming; its panels will be added here. '
          + 'Meanwhile `GET /healthz` of the API reports InfluxDB reachability and the spool depth.')
        .span(24)
        .height(3),
    )
    .build();
}
