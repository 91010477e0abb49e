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
  /** Counters: the most the register can plausibly gain in an hour (admission quarantines a faster rise). */
  maxPerHour?: number;
  /** Counters: where maxPerHour comes from, in words (shown in the reason of a quarantined reading). */
  rateBasis?: string;
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
/** A counter with the most it can gain in an hour, and why (docs/contract.md, plausible counters). */
function c(name: string, unit: string, zh: string, en: string, maxPerHour: number, rateBasis: string): MetricSpec {
  return { name, unit, min: 0, max: COUNTER_MAX, counter: true, zh, en, maxPerHour, rateBasis };
}

/** A type's power gauge and energy register: the register gains at most 1.5 × the rated power per hour. */
function power(ratedKw: number, zh = '功率', en = 'Power'): MetricSpec[] {
  return [
    m('power_kw', 'kW', 0, ratedKw, zh, en),
    c('energy_kwh_total', 'kWh', '累计电量', 'Energy register', 1.5 * ratedKw, `1.5 × ${ratedKw} kW rated power`),
  ];
}

const electricity = power(20000, '有功功率', 'Active power');

/** The metrics every loom reports (air-jet `loom`, `rapier_loom`, `water_jet_loom`). */
const loomMetrics: readonly MetricSpec[] = [
  m('speed_rpm', 'rpm', 0, 1600, '主轴转速', 'Main shaft speed'),
  m('efficiency_pct', '%', 0, 100, '织造效率', 'Weaving efficiency'),
  c('picks_total', 'picks', '累计纬纱数', 'Picks inserted', 144_000, '1.5 × 1600 rpm × 60, one pick per revolution'),
  c('fabric_m_total', 'm', '累计织布长度', 'Fabric woven', 300, '1.5 × 1600 picks/min at 5 picks/cm or more'),
  c('warp_stops_total', 'stops', '累计经停次数', 'Warp stops', 600, 'one stop every 6 s'),
  c('weft_stops_total', 'stops', '累计纬停次数', 'Weft stops', 600, 'one stop every 6 s'),
  ...power(15),
];

// Ranges: docs/domain.md (machine ranges) (widened to what a healthy machine can physically report).
export const CATALOGUE: readonly DeviceTypeSpec[] = [
  { type: 'loom', zh: '织机', en: 'Loom', measurement: 'loom', metrics: loomMetrics },
  {
    type: 'dyeing_machine', zh: '染色机', en: 'Dyeing machine', measurement: 'dyeing_machine',
    metrics: [
      m('phase', 'code', 0, 6, '工序(0空闲 1进水 2升温 3保温 4降温 5水洗 6排液)', 'Phase (0 idle 1 fill 2 heat 3 hold 4 cool 5 rinse 6 drain)'),
      m('bath_temp_c', '°C', 0, 145, '染液温度', 'Bath temperature'),
      m('setpoint_c', '°C', 0, 145, '设定温度', 'Temperature set point'),
      m('liquor_l', 'L', 0, 30000, '染液量', 'Liquor volume'),
      m('batch_kg', 'kg', 0, 2000, '投布量', 'Batch weight'),
      m('pump_power_kw', 'kW', 0, 75, '主泵功率', 'Main pump power'),
      ...power(120),
      c('steam_kg_total', 'kg', '累计蒸汽', 'Steam register', 54_000, '1.5 × heating 30 m³ of liquor at 10 °C/min (36 t/h)'),
      c('water_m3_total', 'm³', '累计用水', 'Water register', 540, '1.5 × filling 30 m³ every 5 min'),
      m('liquor_ratio', '1:n', 0, 40, '浴比', 'Liquor ratio (litres per kg of fabric)'),
      m('ramp_c_min', '°C/min', -10, 10, '升降温速率', 'Heating (+) or cooling (−) rate'),
      c('lots_total', 'lots', '累计染色缸数', 'Dye lots completed', 10, 'a lot every 6 min'),
    ],
  },
  {
    type: 'spinning_frame', zh: '细纱机', en: 'Ring spinning frame', measurement: 'spinning_frame',
    metrics: [
      m('spindle_speed_rpm', 'rpm', 0, 25000, '锭速', 'Spindle speed'),
      m('front_roller_m_min', 'm/min', 0, 40, '前罗拉速度', 'Front roller delivery'),
      c('end_breaks_total', 'breaks', '累计断头', 'End breaks', 6000, '3 breaks per spindle-hour on 2000 spindles'),
      c('yarn_kg_total', 'kg', '累计产纱', 'Yarn produced', 720, '1.5 × 2000 spindles × 40 m/min at 100 tex'),
      ...power(200),
    ],
  },
  {
    type: 'rapier_loom', zh: '剑杆织机', en: 'Rapier loom', measurement: 'rapier_loom', metrics: loomMetrics,
  },
  {
    type: 'water_jet_loom', zh: '喷水织机', en: 'Water-jet loom', measurement: 'water_jet_loom',
    metrics: [...loomMetrics, c('water_l_total', 'L', '累计用水', 'Water used', 720, '1.5 × 96,000 picks/h at 5 mL per pick')],
  },
  {
    type: 'rotor_spinning', zh: '转杯纺纱机', en: 'Rotor spinning machine', measurement: 'rotor_spinning',
    metrics: [
      m('rotor_speed_rpm', 'rpm', 0, 160000, '转杯转速', 'Rotor speed'),
      m('delivery_m_min', 'm/min', 0, 300, '引纱速度', 'Delivery speed'),
      c('end_breaks_total', 'breaks', '累计断头', 'End breaks', 6000, '10 breaks per rotor-hour on 600 rotors'),
      c('yarn_kg_total', 'kg', '累计产纱', 'Yarn produced', 2700, '1.5 × 600 rotors × 300 m/min at 100 tex'),
      ...power(300),
    ],
  },
  {
    type: 'stenter', zh: '定形机', en: 'Stenter', measurement: 'stenter',
    metrics: [
      m('zone1_temp_c', '°C', 0, 230, '一区温度', 'Zone 1 temperature'),
      m('zone2_temp_c', '°C', 0, 230, '二区温度', 'Zone 2 temperature'),
      m('zone3_temp_c', '°C', 0, 230, '三区温度', 'Zone 3 temperature'),
      m('zone4_temp_c', '°C', 0, 230, '四区温度', 'Zone 4 temperature'),
      m('fabric_speed_m_min', 'm/min', 0, 150, '车速', 'Fabric speed'),
      m('gas_flow_m3_h', 'm³/h', 0, 500, '燃气流量', 'Burner gas flow'),
      c('gas_m3_total', 'm³', '累计用气', 'Gas register', 750, '1.5 × 500 m³/h burner flow'),
      m('exhaust_humidity', 'kg/kg', 0, 1, '排气湿度(kg水/kg干空气)', 'Exhaust humidity (kg water per kg dry air)'),
      ...power(400),
      c('fabric_m_total', 'm', '累计定形长度', 'Fabric finished', 13_500, '1.5 × 150 m/min'),
    ],
  },
  {
    type: 'sewing_line', zh: '缝制流水线', en: 'Sewing line', measurement: 'sewing_line',
    metrics: [
      m('operators', 'persons', 0, 200, '在岗人数', 'Operators at work'),
      m('sam_min', 'min', 0, 120, '标准工时(SAM)', 'Standard allowed minutes per piece'),
      m('efficiency_pct', '%', 0, 100, '线效率', 'Line efficiency'),
      c('pieces_total', 'pieces', '累计产量(件)', 'Pieces sewn', 24_000, '200 operators at 0.5 min per piece'),
      ...power(200),
    ],
  },
  {
    type: 'sock_knitter', zh: '织袜机', en: 'Sock knitting machine', measurement: 'sock_knitter',
    metrics: [
      m('speed_rpm', 'rpm', 0, 1500, '针筒转速', 'Cylinder speed'),
      c('pairs_total', 'pairs', '累计产量(双)', 'Pairs knitted', 120, '1500 rpm at 750 courses per sock or more, ×1.5, rounded up'),
      c('stops_total', 'stops', '累计停机次数', 'Stops', 600, 'one stop every 6 s'),
      ...power(10),
    ],
  },
  {
    type: 'silk_reeling', zh: '自动缫丝机', en: 'Automatic silk reeling machine', measurement: 'silk_reeling',
    metrics: [
      m('ends_running', 'ends', 0, 2000, '运行绪数', 'Ends running'),
      m('reeling_m_min', 'm/min', 0, 400, '缫丝速度', 'Reeling speed'),
      c('raw_silk_kg_total', 'kg', '累计生丝产量', 'Raw silk produced', 200, '2000 ends × 400 m/min at 2.3 tex, ×1.5, rounded up'),
      ...power(100),
    ],
  },
  // energy_kwh_total is the import register (正向有功). A bidirectional grid meter also reports its export register;
  // a meter at a generator's terminals (cogeneration) reports its generation register instead of the import one.
  {
    type: 'electricity_meter', zh: '电表', en: 'Electricity meter', measurement: 'electricity_meter', metrics: [
      ...electricity, m('power_factor', '', 0, 1, '功率因数', 'Power factor'),
      c('export_kwh_total', 'kWh', '反向有功电能（上网）', 'Export register (to the grid)', 30000, '1.5 × 20000 kW rated power'),
      c('generation_kwh_total', 'kWh', '发电量', 'Generation register', 30000, '1.5 × 20000 kW rated power'),
    ],
  },
  { type: 'gas_meter', zh: '天然气表', en: 'Natural gas meter', measurement: 'gas_meter', metrics: [m('flow_m3_h', 'm³/h', 0, 5000, '瞬时流量', 'Flow'), c('gas_m3_total', 'm³', '累计用气', 'Gas register', 7500, '1.5 × 5000 m³/h flow')] },
  { type: 'steam_meter', zh: '蒸汽表', en: 'Steam meter', measurement: 'steam_meter', metrics: [m('flow_kg_h', 'kg/h', 0, 100000, '瞬时流量', 'Flow'), c('steam_kg_total', 'kg', '累计蒸汽', 'Steam register', 150_000, '1.5 × 100,000 kg/h flow')] },
  { type: 'water_meter', zh: '水表', en: 'Water meter', measurement: 'water_meter', metrics: [m('flow_m3_h', 'm³/h', 0, 1000, '瞬时流量', 'Flow'), c('water_m3_total', 'm³', '累计用水', 'Water register', 1500, '1.5 × 1000 m³/h flow')] },
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
