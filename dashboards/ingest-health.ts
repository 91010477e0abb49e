// 数据接入健康 / Ingest health, seen from InfluxDB: what actually reached the database. Points per minute per
// measurement, devices reporting per type, the last point of every device, and sequence gaps (messages a device
// numbered but that never arrived).
//
// The service's own Prometheus /metrics (prom-client: connected devices, messages in / accepted / rejected, spool
// depth, write latency, InfluxDB errors) is coming; panels over it will join this dashboard with a Prometheus data
// source. Until then this dashboard reads InfluxDB only.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as Table } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as Text } from '@grafana/grafana-foundation-sdk/text';
import { TextMode } from '@grafana/grafana-foundation-sdk/text';
import { STATE_MEASUREMENT, TELEMETRY_MEASUREMENTS, dashboard, influx, legend, legendTable, tooltipAll, typeNames, withRows, type Row } from './common.ts';
import { from, ident, select, sub, tags, time, type InfluxQLQueryBuilder } from './influxql.ts';

/** Points per minute whatever the interval Grafana picks: count per $__interval scaled by 60000 / $__interval_ms. */
const PER_MINUTE = '* 60000 / $__interval_ms';
const TELEMETRY = from(TELEMETRY_MEASUREMENTS);

export function ingestHealth(): Dashboard {
  return withRows(
    dashboard(
      'dehong-ingest-health',
      '数据接入健康 / Ingest health',
      'What reached InfluxDB: points per minute per measurement, reporting devices, last point per device and sequence gaps. '
        + 'The service\'s Prometheus /metrics (accepted / rejected messages, spool depth, write latency) will be added here.',
    ),
    [pointsRow(), devicesRow()],
  );
}

/** Points per minute of `field` (one every message has) in the measurements of `fromClause`, one series each. */
function pointsPerMinute(field: string, fromClause: string, refId: string): InfluxQLQueryBuilder {
  return influx(select({ fields: `count(${ident(field)}) ${PER_MINUTE} AS "points"`, from: fromClause, groupBy: [time()], fill: 0 }), refId, { alias: '$measurement' });
}

/** Points per minute per measurement, and devices reporting per type. */
function pointsRow(): Row {
  return {
    title: '写入量 / Points written',
    panels: [
      new TimeSeries()
        .title('每分钟数据点（按测量）/ Points per minute per measurement')
        .withTarget(pointsPerMinute('seq', TELEMETRY, 'A'))
        .withTarget(pointsPerMinute('state', ident(STATE_MEASUREMENT), 'B'))
        .unit('none')
        .min(0)
        .legend(legendTable(['mean', 'lastNotNull']))
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
      new TimeSeries()
        .title('上报设备数（按设备类型）/ Devices reporting per device type')
        .withTarget(influx(
          select({
            fields: 'count("n")',
            from: sub(select({ fields: 'count("seq") AS "n"', from: TELEMETRY, groupBy: [time(), ...tags('device', 'type')], fill: 'none' })),
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
    ],
  };
}

/** The newest point and the sequence gaps of every device, and where the service's own metrics will go. */
function devicesRow(): Row {
  return {
    title: '设备 / Devices',
    panels: [
      new Table()
        .title('各设备最后数据点 / Last point per device')
        .description('Time and sequence number of the newest point of every device in the range.')
        .withTarget(influx(select({ fields: 'last("seq") AS "seq"', from: TELEMETRY, groupBy: tags('firm', 'device') }), 'A', { format: 'table' }))
        .span(12)
        .height(10),
      new Table()
        .title('序号缺口 / Sequence gaps per device')
        .description('Messages a device numbered that never reached InfluxDB: the sum of (seq step − 1) over the steps above 1. '
          + 'A device restart that resets its numbering is a negative step and is not counted.')
        .withTarget(influx(
          select({
            fields: 'sum("gap") AS "missing", count("gap") AS "gaps"',
            from: sub(select({ fields: 'difference("seq") - 1 AS "gap"', from: TELEMETRY, groupBy: tags('firm', 'device') })),
            where: ['"gap" > 0'],
            groupBy: tags('firm', 'device'),
          }),
          'A', { format: 'table' },
        ))
        .noValue('0')
        .span(12)
        .height(10),
      new Text()
        .title('服务指标 / Service metrics')
        .mode(TextMode.Markdown)
        .content('The ingest service\'s own Prometheus `/metrics` (connected devices, messages in / accepted / rejected, '
          + 'spool depth, InfluxDB write latency and errors) is coming; its panels will be added here. '
          + 'Meanwhile `GET /healthz` of the API reports InfluxDB reachability and the spool depth.')
        .span(24)
        .height(3),
    ],
  };
}
