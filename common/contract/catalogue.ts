// The device catalogue of contract v1: for each device type, its metrics with unit, plausible range and whether
// the metric is a cumulative counter. Admission validates against it, the API publishes it, simulators read it.
export interface MetricSpec {
  name: string;
  unit: string;
  min: number;
  max: number;
  /** Cumulative counter (like a meter register): only goes up, except at a device reset. */
  counter: boolean;
  zh: string;
  en: string;
}

export interface DeviceTypeSpec {
  type: string;
  zh: string;
  en: string;
  /** InfluxDB measurement the telemetry of this type is written to. */
  measurement: string;
  metrics: readonly MetricSpec[];
}

const COUNTER_MAX = 1e13;

function m(name: string, unit: string, min: number, max: number, zh: string, en: string): MetricSpec {
  return { name, unit, min, max, counter: false, zh, en };
}
function c(name: string, unit: string, zh: string, en: string): MetricSpec {
  return { name, unit, min: 0, max: COUNTER_MAX, counter: true, zh, en };
}

const electricity = [m('power_kw', 'kW', 0, 20000, '有功功率', 'Active power'), c('energy_kwh_total', 'kWh', '累计电量', 'Energy register')];

// Ranges: ../shared/domain-notes.md §1.3 (widened to what a healthy machine can physically report).
export const CATALOGUE: readonly DeviceTypeSpec[] = [
  {
    type: 'loom', zh: '织机', en: 'Loom', measurement: 'loom',
    metrics: [
      m('speed_rpm', 'rpm', 0, 1600, '主轴转速', 'Main shaft speed'),
      m('efficiency_pct', '%', 0, 100, '织造效率', 'Weaving efficiency'),
      c('picks_total', 'picks', '累计纬纱数', 'Picks inserted'),
      c('fabric_m_total', 'm', '累计织布长度', 'Fabric woven'),
      c('warp_stops_total', 'stops', '累计经停次数', 'Warp stops'),
      c('weft_stops_total', 'stops', '累计纬停次数', 'Weft stops'),
      m('power_kw', 'kW', 0, 15, '功率', 'Power'),
      c('energy_kwh_total', 'kWh', '累计电量', 'Energy register'),
    ],
  },
  {
    type: 'dyeing_machine', zh: '染色机', en: 'Dyeing machine', measurement: 'dyeing_machine',
    metrics: [
      m('phase', 'code', 0, 6, '工序(0空闲 1进水 2升温 3保温 4降温 5水洗 6排液)', 'Phase (0 idle 1 fill 2 heat 3 hold 4 cool 5 rinse 6 drain)'),
      m('bath_temp_c', '°C', 0, 145, '染液温度', 'Bath temperature'),
      m('setpoint_c', '°C', 0, 145, '设定温度', 'Temperature set point'),
      m('liquor_l', 'L', 0, 30000, '染液量', 'Liquor volume'),
      m('batch_kg', 'kg', 0, 2000, '投布量', 'Batch weight'),
      m('pump_power_kw', 'kW', 0, 75, '主泵功率', 'Main pump power'),
      m('power_kw', 'kW', 0, 120, '功率', 'Power'),
      c('energy_kwh_total', 'kWh', '累计电量', 'Energy register'),
      c('steam_kg_total', 'kg', '累计蒸汽', 'Steam register'),
      c('water_m3_total', 'm³', '累计用水', 'Water register'),
    ],
  },
  {
    type: 'spinning_frame', zh: '细纱机', en: 'Ring spinning frame', measurement: 'spinning_frame',
    metrics: [
      m('spindle_speed_rpm', 'rpm', 0, 25000, '锭速', 'Spindle speed'),
      m('front_roller_m_min', 'm/min', 0, 40, '前罗拉速度', 'Front roller delivery'),
      c('end_breaks_total', 'breaks', '累计断头', 'End breaks'),
      c('yarn_kg_total', 'kg', '累计产纱', 'Yarn produced'),
      m('power_kw', 'kW', 0, 200, '功率', 'Power'),
      c('energy_kwh_total', 'kWh', '累计电量', 'Energy register'),
    ],
  },
  { type: 'electricity_meter', zh: '电表', en: 'Electricity meter', measurement: 'electricity_meter', metrics: [...electricity, m('power_factor', '', 0, 1, '功率因数', 'Power factor')] },
  { type: 'gas_meter', zh: '天然气表', en: 'Natural gas meter', measurement: 'gas_meter', metrics: [m('flow_m3_h', 'm³/h', 0, 5000, '瞬时流量', 'Flow'), c('gas_m3_total', 'm³', '累计用气', 'Gas register')] },
  { type: 'steam_meter', zh: '蒸汽表', en: 'Steam meter', measurement: 'steam_meter', metrics: [m('flow_kg_h', 'kg/h', 0, 100000, '瞬时流量', 'Flow'), c('steam_kg_total', 'kg', '累计蒸汽', 'Steam register')] },
  { type: 'water_meter', zh: '水表', en: 'Water meter', measurement: 'water_meter', metrics: [m('flow_m3_h', 'm³/h', 0, 1000, '瞬时流量', 'Flow'), c('water_m3_total', 'm³', '累计用水', 'Water register')] },
];

const byType = new Map(CATALOGUE.map((t) => [t.type, t]));
const metricIndex = new Map(CATALOGUE.map((t) => [t.type, new Map(t.metrics.map((mm) => [mm.name, mm]))]));

export const deviceTypes = CATALOGUE.map((t) => t.type);

export function deviceType(type: string): DeviceTypeSpec | undefined {
  return byType.get(type);
}

export function metricSpec(type: string, metric: string): MetricSpec | undefined {
  return metricIndex.get(type)?.get(metric);
}

export const MACHINE_STATES = ['running', 'idle', 'setup', 'maintenance', 'fault', 'stopped'] as const;
export type MachineState = (typeof MACHINE_STATES)[number];
