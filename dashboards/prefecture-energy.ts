// 德宏州纺织能耗 / Prefecture energy: for bureau staff (工信局). Electric power and energy by county and park from the
// plant-boundary electricity meters, and where it goes (machines, sub-metered) by device type and segment.
import type { Dashboard, DataTransformerConfig } from '@grafana/grafana-foundation-sdk/dashboard';
import { BarGaugeDisplayMode, StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as BarGauge } from '@grafana/grafana-foundation-sdk/bargauge';
import { MACHINE_MEASUREMENTS, METER_MEASUREMENT, bars, countyNames, dashboard, influx, legend, legendTable, parkNames, rangeBars, segmentNames, tooltipAll, typeNames, withRows, type Row } from './common.ts';
import { counterIncrease, counterTotal, sumOfMeans } from './queries.ts';

const meters = [METER_MEASUREMENT];

/** A tag the series are split by, with the transformation that shows its codes as names. */
interface Split {
  tag: 'county' | 'park' | 'type' | 'segment';
  names: () => DataTransformerConfig[];
}

const COUNTY: Split = { tag: 'county', names: countyNames };

export function prefectureEnergy(): Dashboard {
  return withRows(
    dashboard(
      'dehong-prefecture-energy',
      '德宏州纺织能耗 / Dehong prefecture textile energy',
      'Electric power and energy of the Dehong textile cluster by county and park (plant-boundary electricity meters) '
        + 'and by device type and segment (sub-metered machines). Energy is the increase of the kWh registers '
        + '(non_negative_difference, so a meter reset is not counted as negative energy).',
    ),
    [metersRow(), machinesRow()],
  );
}

/** Electricity over the range of `measurements` per group of `split`, as horizontal bars. */
function energyInRange(p: { title: string; description?: string; measurements: readonly string[]; split: Split; span: number }): BarGauge {
  const b = new BarGauge().title(p.title);
  if (p.description !== undefined) b.description(p.description);
  b.withTarget(influx(counterTotal('energy_kwh_total', { measurements: p.measurements, by: [p.split.tag] }), 'A', { alias: `$tag_${p.split.tag}` }))
    .transformations(p.split.names());
  return rangeBars(b, 'kwatth', BarGaugeDisplayMode.Gradient).span(p.span).height(9);
}

/** Power of `measurements` summed per group of `split`, one line per group. */
function powerBy(p: { title: string; description: string; measurements: readonly string[]; split: Split; span: number }): TimeSeries {
  return new TimeSeries()
    .title(p.title)
    .description(p.description)
    .withTarget(influx(sumOfMeans('power_kw', { measurements: p.measurements, by: [p.split.tag] }), 'A', { alias: `$tag_${p.split.tag}` }))
    .transformations(p.split.names())
    .unit('kwatt')
    .min(0)
    .legend(legend())
    .tooltip(tooltipAll())
    .span(p.span)
    .height(9);
}

/** The plant boundary: electricity and power by county, power by park. */
function metersRow(): Row {
  return {
    title: '厂界电表 / Plant-boundary electricity meters',
    panels: [
      energyInRange({
        title: '所选时段用电量（按县）/ Electricity in range by county',
        description: 'Sum over the meters of each county of the increase of energy_kwh_total over the selected range.',
        measurements: meters, split: COUNTY, span: 8,
      }),
      powerBy({
        title: '电功率（按县）/ Electric power by county',
        description: 'Sum over the meters of each county of their mean active power per interval.',
        measurements: meters, split: COUNTY, span: 16,
      }),
      bars(new TimeSeries()
        .title('每小时用电量（按县）/ Electricity per hour by county')
        .withTarget(influx(counterIncrease('energy_kwh_total', { measurements: meters, by: ['county'] }, '1h'), 'A', { alias: '$tag_county' }))
        .transformations(countyNames()), 'kwatth')
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .legend(legendTable(['sum']))
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
      powerBy({
        title: '电功率（按园区）/ Electric power by park',
        description: '"一核多基地": the Ruili core parks and the provincial base parks of the other counties.',
        measurements: meters, split: { tag: 'park', names: parkNames }, span: 12,
      }),
    ],
  };
}

/** Where the power goes: the sub-metered machines by device type and by segment. */
function machinesRow(): Row {
  return {
    title: '设备分项计量 / Machines (sub-metered)',
    panels: [
      powerBy({
        title: '设备功率（按设备类型）/ Machine power by device type',
        description: 'Machines are metered behind the plant-boundary meters: this shows where the power goes, it is not added to the meters.',
        measurements: MACHINE_MEASUREMENTS, split: { tag: 'type', names: typeNames }, span: 12,
      })
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .fillOpacity(30),
      energyInRange({
        title: '所选时段设备用电量（按产业环节）/ Machine electricity in range by segment',
        measurements: MACHINE_MEASUREMENTS, split: { tag: 'segment', names: segmentNames }, span: 12,
      }),
    ],
  };
}
