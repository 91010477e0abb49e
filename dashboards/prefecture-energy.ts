// 德宏州纺织能耗 / Prefecture energy: for bureau staff (工信局). Electric power and energy by county and park from the
// plant-boundary electricity meters, and where it goes (machines, sub-metered) by device type and segment.
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { BarGaugeDisplayMode, GraphDrawStyle, ReduceDataOptionsBuilder, StackingConfigBuilder, StackingMode, VizOrientation } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as BarGauge } from '@grafana/grafana-foundation-sdk/bargauge';
import { MACHINE_MEASUREMENTS, METER_MEASUREMENT, countyNames, dashboard, influx, legend, legendTable, parkNames, segmentNames, tooltipAll, typeNames } from './common.ts';
import { counterIncrease, counterTotal, sumOfMeans } from './queries.ts';

const meters = [METER_MEASUREMENT];

export function prefectureEnergy(): Dashboard {
  return dashboard(
    'dehong-prefecture-energy',
    '德宏州纺织能耗 / Dehong prefecture textile energy',
    'Electric power and energy of the Dehong textile cluster by county and park (plant-boundary electricity meters) '
      + 'and by device type and segment (sub-metered machines). Energy is the increase of the kWh registers '
      + '(non_negative_difference, so a meter reset is not counted as negative energy).',
  )
    .withRow(new RowBuilder('厂界电表 / Plant-boundary electricity meters'))
    .withPanel(
      new BarGauge()
        .title('所选时段用电量（按县）/ Electricity in range by county')
        .description('Sum over the meters of each county of the increase of energy_kwh_total over the selected range.')
        .withTarget(influx(counterTotal('energy_kwh_total', { measurements: meters, by: ['county'] }), 'A', { alias: '$tag_county' }))
        .transformations(countyNames())
        .unit('kwatth')
        .decimals(0)
        .min(0)
        .displayMode(BarGaugeDisplayMode.Gradient)
        .orientation(VizOrientation.Horizontal)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .span(8)
        .height(9),
    )
    .withPanel(
      new TimeSeries()
        .title('电功率（按县）/ Electric power by county')
        .description('Sum over the meters of each county of their mean active power per interval.')
        .withTarget(influx(sumOfMeans('power_kw', { measurements: meters, by: ['county'] }), 'A', { alias: '$tag_county' }))
        .transformations(countyNames())
        .unit('kwatt')
        .min(0)
        .legend(legend())
        .tooltip(tooltipAll())
        .span(16)
        .height(9),
    )
    .withPanel(
      new TimeSeries()
        .title('每小时用电量（按县）/ Electricity per hour by county')
        .withTarget(influx(counterIncrease('energy_kwh_total', { measurements: meters, by: ['county'] }, '1h'), 'A', { alias: '$tag_county' }))
        .transformations(countyNames())
        .unit('kwatth')
        .min(0)
        .drawStyle(GraphDrawStyle.Bars)
        .fillOpacity(80)
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .legend(legendTable(['sum']))
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
    )
    .withPanel(
      new TimeSeries()
        .title('电功率（按园区）/ Electric power by park')
        .description('"一核多基地": the Ruili core parks and the provincial base parks of the other counties.')
        .withTarget(influx(sumOfMeans('power_kw', { measurements: meters, by: ['park'] }), 'A', { alias: '$tag_park' }))
        .transformations(parkNames())
        .unit('kwatt')
        .min(0)
        .legend(legend())
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
    )
    .withRow(new RowBuilder('设备分项计量 / Machines (sub-metered)'))
    .withPanel(
      new TimeSeries()
        .title('设备功率（按设备类型）/ Machine power by device type')
        .description('Machines are metered behind the plant-boundary meters: this shows where the power goes, it is not added to the meters.')
        .withTarget(influx(sumOfMeans('power_kw', { measurements: MACHINE_MEASUREMENTS, by: ['type'] }), 'A', { alias: '$tag_type' }))
        .transformations(typeNames())
        .unit('kwatt')
        .min(0)
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .fillOpacity(30)
        .legend(legend())
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
    )
    .withPanel(
      new BarGauge()
        .title('所选时段设备用电量（按产业环节）/ Machine electricity in range by segment')
        .withTarget(influx(counterTotal('energy_kwh_total', { measurements: MACHINE_MEASUREMENTS, by: ['segment'] }), 'A', { alias: '$tag_segment' }))
        .transformations(segmentNames())
        .unit('kwatth')
        .decimals(0)
        .min(0)
        .displayMode(BarGaugeDisplayMode.Gradient)
        .orientation(VizOrientation.Horizontal)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .span(12)
        .height(9),
    )
    .build();
}
