// 企业能耗与机台状态 / Firm energy and machine states, for one firm (template variable `firm`: its unified social
// credit code, the `firm` tag). Metered and machine electricity, the spinning energy intensity against the
// ≈1.3 kWh/kg benchmark, power per device, machine states, faults, loom efficiency and output.
import { RowBuilder, ThresholdsConfigBuilder, ThresholdsMode, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { BarGaugeDisplayMode, BigValueColorMode, BigValueGraphMode, GraphDrawStyle, ReduceDataOptionsBuilder, StackingConfigBuilder, StackingMode, VizOrientation } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as BarGauge } from '@grafana/grafana-foundation-sdk/bargauge';
import { PanelBuilder as StateTimeline } from '@grafana/grafana-foundation-sdk/statetimeline';
import { ELECTRIC_MEASUREMENTS, MACHINE_MEASUREMENTS, METER_MEASUREMENT, STATE_MEASUREMENT, TELEMETRY_MEASUREMENTS, dashboard, influx, legend, legendTable, measurementsWith, stateMappings, tagVariable, tooltipAll, typeNames } from './common.ts';
import { eq, from, ident, select, str, tags, time } from './influxql.ts';
import { counterIncrease, counterRatio, counterTotal } from './queries.ts';

const FIRM = [eq('firm', '$firm')];

function total(title: string, query: string, unit: string, description: string): Stat {
  return new Stat()
    .title(title)
    .description(description)
    .withTarget(influx(query, 'A'))
    .unit(unit)
    .decimals(1)
    .graphMode(BigValueGraphMode.None)
    .colorMode(BigValueColorMode.None)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .span(6)
    .height(5);
}

export function firmEnergy(): Dashboard {
  return dashboard(
    'dehong-firm',
    '企业能耗与机台状态 / Firm energy and machine states',
    'One firm (by its unified social credit code): electricity at the plant boundary and per machine, spinning energy '
      + 'intensity, machine states (OPC 40001-1 / SEMI E10), faults, loom efficiency and output.',
  )
    .withVariable(tagVariable('firm', '企业 Firm', `SHOW TAG VALUES FROM ${from(TELEMETRY_MEASUREMENTS)} WITH KEY = "firm"`))
    .withRow(new RowBuilder('能耗 / Energy'))
    .withPanel(total(
      '厂界用电量 / Metered electricity', counterTotal('energy_kwh_total', { measurements: [METER_MEASUREMENT], where: FIRM }), 'kwatth',
      'Increase of the plant-boundary meters\' kWh registers over the selected range.',
    ))
    .withPanel(total(
      '设备用电量 / Machine electricity', counterTotal('energy_kwh_total', { measurements: MACHINE_MEASUREMENTS, where: FIRM }), 'kwatth',
      'Increase of the sub-metered machines\' kWh registers over the selected range (part of the metered electricity, not in addition to it).',
    ))
    .withPanel(
      total(
        '细纱单耗 / Ring spinning electricity per kg of yarn', counterRatio('energy_kwh_total', 'yarn_kg_total', { measurements: ['spinning_frame'], where: FIRM }), 'none',
        'kWh per kg of yarn of the ring spinning frames over the selected range; benchmark about 1.3 kWh/kg.',
      )
        .decimals(2)
        .colorMode(BigValueColorMode.Value)
        .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
          { value: null, color: 'green' },
          { value: 1.3, color: 'orange' },
          { value: 1.6, color: 'red' },
        ])),
    )
    .withPanel(
      new BarGauge()
        .title('所选时段故障次数 / Faults in range per device')
        .withTarget(influx(
          select({ fields: 'count("state") AS "faults"', from: ident(STATE_MEASUREMENT), where: [...FIRM, `"state" = ${str('fault')}`], groupBy: tags('device') }),
          'A', { alias: '$tag_device' },
        ))
        .unit('none')
        .decimals(0)
        .min(0)
        .displayMode(BarGaugeDisplayMode.Basic)
        .orientation(VizOrientation.Horizontal)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .noValue('0')
        .span(6)
        .height(5),
    )
    .withPanel(
      new TimeSeries()
        .title('功率（按设备）/ Power per device')
        .withTarget(influx(
          select({ fields: 'mean("power_kw")', from: from(ELECTRIC_MEASUREMENTS), where: FIRM, groupBy: [time(), ...tags('device')], fill: 'none' }),
          'A', { alias: '$measurement $tag_device' },
        ))
        .unit('kwatt')
        .min(0)
        .legend(legendTable(['mean', 'max']))
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
    )
    .withPanel(
      new TimeSeries()
        .title('每小时用电量（按设备类型）/ Electricity per hour by device type')
        .withTarget(influx(counterIncrease('energy_kwh_total', { measurements: ELECTRIC_MEASUREMENTS, where: FIRM, by: ['type'] }, '1h'), 'A', { alias: '$tag_type' }))
        .transformations(typeNames())
        .unit('kwatth')
        .min(0)
        .drawStyle(GraphDrawStyle.Bars)
        .fillOpacity(80)
        .legend(legendTable(['sum']))
        .tooltip(tooltipAll())
        .span(12)
        .height(9),
    )
    .withRow(new RowBuilder('机台状态 / Machine states'))
    .withPanel(
      new StateTimeline()
        .title('机台状态 / Machine states')
        .description('Last reported state per interval; a machine that did not change state in the range shows no bar.')
        .withTarget(influx(
          select({ fields: 'last("state")', from: ident(STATE_MEASUREMENT), where: FIRM, groupBy: [time(), ...tags('device')], fill: 'previous' }),
          'A', { alias: '$tag_device' },
        ))
        .mappings(stateMappings())
        .legend(legend())
        .span(24)
        .height(9),
    )
    .withPanel(
      new TimeSeries()
        .title('织造效率 / Weaving efficiency')
        .withTarget(influx(
          select({ fields: 'mean("efficiency_pct")', from: from(measurementsWith('efficiency_pct', true)), where: FIRM, groupBy: [time(), ...tags('device')], fill: 'none' }),
          'A', { alias: '$tag_device' },
        ))
        .unit('percent')
        .min(0)
        .max(100)
        .legend(legend())
        .tooltip(tooltipAll())
        .span(12)
        .height(8),
    )
    .withPanel(
      new TimeSeries()
        .title('每小时产量 / Output per hour')
        .description('Fabric woven (m) and yarn spun (kg), from the machines\' registers.')
        .withTarget(influx(counterIncrease('fabric_m_total', { measurements: measurementsWith('fabric_m_total', true), where: FIRM }, '1h'), 'A', { alias: '织布 fabric (m)' }))
        .withTarget(influx(counterIncrease('yarn_kg_total', { measurements: measurementsWith('yarn_kg_total', true), where: FIRM }, '1h'), 'B', { alias: '纱线 yarn (kg)' }))
        .unit('none')
        .min(0)
        .drawStyle(GraphDrawStyle.Bars)
        .fillOpacity(80)
        .legend(legendTable(['sum']))
        .tooltip(tooltipAll())
        .span(12)
        .height(8),
    )
    .withPanel(
      new TimeSeries()
        .title('每小时蒸汽与用水（设备）/ Machine steam and fresh water per hour')
        .withTarget(influx(counterIncrease('steam_kg_total', { measurements: measurementsWith('steam_kg_total', true), where: FIRM }, '1h'), 'A', { alias: '蒸汽 steam (kg)' }))
        .withTarget(influx(counterIncrease('water_m3_total', { measurements: measurementsWith('water_m3_total', true), where: FIRM }, '1h'), 'B', { alias: '用水 water (m³)' }))
        .overrideByName('用水 water (m³)', [{ id: 'custom.axisPlacement', value: 'right' }, { id: 'unit', value: 'm3' }])
        .unit('masskg')
        .min(0)
        .drawStyle(GraphDrawStyle.Bars)
        .fillOpacity(60)
        .stacking(new StackingConfigBuilder().mode(StackingMode.None))
        .legend(legendTable(['sum']))
        .tooltip(tooltipAll())
        .span(24)
        .height(8),
    )
    .build();
}
