// 企业能耗与机台状态 / Firm energy and machine states, for one firm (template variable `firm`: its unified social
// credit code, the `firm` tag). Metered and machine electricity, the spinning energy intensity against the
// ≈1.3 kWh/kg benchmark, power per device, machine states, faults, loom efficiency and output.
import { ThresholdsConfigBuilder, ThresholdsMode, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { BarGaugeDisplayMode, BigValueColorMode, StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as BarGauge } from '@grafana/grafana-foundation-sdk/bargauge';
import { ELECTRIC_MEASUREMENTS, MACHINE_MEASUREMENTS, METER_MEASUREMENT, STATE_MEASUREMENT, bars, dashboard, influx, legend, legendTable, measurementsWith, rangeBars, stateTimeline, statPanel, tagVariable, tooltipAll, typeNames, withRows, type Row } from './common.ts';
import { eq, ident, select, str, tags, type InfluxQLQueryBuilder } from './influxql.ts';
import { counterIncrease, counterRatio, counterTotal, lastState, meanPerSeries } from './queries.ts';

const FIRM = [eq('firm', '$firm')];

/** The firm's machines that have counter `field`, as a query target of its increase per hour. */
function perHour(field: string, refId: string, alias: string): InfluxQLQueryBuilder {
  return influx(counterIncrease(field, { measurements: measurementsWith(field, true), where: FIRM }, '1h'), refId, { alias });
}

export function firmEnergy(): Dashboard {
  return withRows(
    dashboard(
      'dehong-firm',
      '企业能耗与机台状态 / Firm energy and machine states',
      'One firm (by its unified social credit code): electricity at the plant boundary and per machine, spinning energy '
        + 'intensity, machine states (OPC 40001-1 / SEMI E10), faults, loom efficiency and output.',
    ).withVariable(tagVariable('firm', '企业 Firm')),
    [
      { title: '能耗 / Energy', panels: [...totalPanels(), faultsPanel(), ...powerPanels()] },
      statesRow(),
    ],
  );
}

/** Electricity at the plant boundary and of the machines over the range, and the spinning energy intensity. */
function totalPanels(): Stat[] {
  return [
    statPanel({
      title: '厂界用电量 / Metered electricity',
      description: 'Increase of the plant-boundary meters\' kWh registers over the selected range.',
      target: influx(counterTotal('energy_kwh_total', { measurements: [METER_MEASUREMENT], where: FIRM }), 'A'),
      unit: 'kwatth',
      decimals: 1,
    }),
    statPanel({
      title: '设备用电量 / Machine electricity',
      description: 'Increase of the sub-metered machines\' kWh registers over the selected range (part of the metered electricity, not in addition to it).',
      target: influx(counterTotal('energy_kwh_total', { measurements: MACHINE_MEASUREMENTS, where: FIRM }), 'A'),
      unit: 'kwatth',
      decimals: 1,
    }),
    statPanel({
      title: '细纱单耗 / Ring spinning electricity per kg of yarn',
      description: 'kWh per kg of yarn of the ring spinning frames over the selected range; benchmark about 1.3 kWh/kg.',
      target: influx(counterRatio('energy_kwh_total', 'yarn_kg_total', { measurements: ['spinning_frame'], where: FIRM }), 'A'),
      unit: 'none',
      decimals: 2,
      colorMode: BigValueColorMode.Value,
    }).thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
      { value: null, color: 'green' },
      { value: 1.3, color: 'orange' },
      { value: 1.6, color: 'red' },
    ])),
  ];
}

function faultsPanel(): BarGauge {
  const faults = select({ fields: 'count("state") AS "faults"', from: ident(STATE_MEASUREMENT), where: [...FIRM, `"state" = ${str('fault')}`], groupBy: tags('device') });
  return rangeBars(new BarGauge().title('所选时段故障次数 / Faults in range per device').withTarget(influx(faults, 'A', { alias: '$tag_device' })), 'none', BarGaugeDisplayMode.Basic)
    .noValue('0')
    .span(6)
    .height(5);
}

/** Power per device and electricity per hour by device type. */
function powerPanels(): TimeSeries[] {
  return [
    new TimeSeries()
      .title('功率（按设备）/ Power per device')
      .withTarget(influx(meanPerSeries('power_kw', { measurements: ELECTRIC_MEASUREMENTS, where: FIRM, by: ['device'] }), 'A', { alias: '$measurement $tag_device' }))
      .unit('kwatt')
      .min(0)
      .legend(legendTable(['mean', 'max']))
      .tooltip(tooltipAll())
      .span(12)
      .height(9),
    bars(new TimeSeries()
      .title('每小时用电量（按设备类型）/ Electricity per hour by device type')
      .withTarget(influx(counterIncrease('energy_kwh_total', { measurements: ELECTRIC_MEASUREMENTS, where: FIRM, by: ['type'] }, '1h'), 'A', { alias: '$tag_type' }))
      .transformations(typeNames()), 'kwatth')
      .legend(legendTable(['sum']))
      .tooltip(tooltipAll())
      .span(12)
      .height(9),
  ];
}

/** Machine states, loom efficiency, output and the machines' steam and water. */
function statesRow(): Row {
  return {
    title: '机台状态 / Machine states',
    panels: [
      stateTimeline({
        title: '机台状态 / Machine states',
        description: 'Last reported state per interval; a machine that did not change state in the range shows no bar.',
        target: influx(lastState(FIRM, ['device']), 'A', { alias: '$tag_device' }),
        height: 9,
      }),
      new TimeSeries()
        .title('织造效率 / Weaving efficiency')
        .withTarget(influx(meanPerSeries('efficiency_pct', { measurements: measurementsWith('efficiency_pct', true), where: FIRM, by: ['device'] }), 'A', { alias: '$tag_device' }))
        .unit('percent')
        .min(0)
        .max(100)
        .legend(legend())
        .tooltip(tooltipAll())
        .span(12)
        .height(8),
      bars(new TimeSeries()
        .title('每小时产量 / Output per hour')
        .description('Fabric woven (m) and yarn spun (kg), from the machines\' registers.')
        .withTarget(perHour('fabric_m_total', 'A', '织布 fabric (m)'))
        .withTarget(perHour('yarn_kg_total', 'B', '纱线 yarn (kg)')), 'none')
        .legend(legendTable(['sum']))
        .tooltip(tooltipAll())
        .span(12)
        .height(8),
      bars(new TimeSeries()
        .title('每小时蒸汽与用水（设备）/ Machine steam and fresh water per hour')
        .withTarget(perHour('steam_kg_total', 'A', '蒸汽 steam (kg)'))
        .withTarget(perHour('water_m3_total', 'B', '用水 water (m³)'))
        .overrideByName('用水 water (m³)', [{ id: 'custom.axisPlacement', value: 'right' }, { id: 'unit', value: 'm3' }]), 'masskg', 60)
        .stacking(new StackingConfigBuilder().mode(StackingMode.None))
        .legend(legendTable(['sum']))
        .tooltip(tooltipAll())
        .span(24)
        .height(8),
    ],
  };
}
