// Every quantified target of 德宏州纺织服装产业集群建设三年行动计划（2025-2027年） (docs/domain.md), with the
// sentence it comes from, and where its current value comes from: computed from the registry or telemetry, from
// monthly snapshots, or entered by bureau staff.
export const PLAN_END_YEAR = 2027;

export type TargetSource = 'registry' | 'telemetry' | 'snapshots' | 'entered';
export type TargetPeriod = 'by-2027' | 'per-year';

export interface TargetDef {
  id: string;
  zh: string;
  en: string;
  /** The plan's own words. */
  quote: string;
  target: number;
  unit: string;
  period: TargetPeriod;
  source: TargetSource;
  /** Computed targets that still accept an entered value (used when the computation has no data). */
  enterable: boolean;
}

export const TARGETS: readonly TargetDef[] = [
  { id: 'firms', zh: '纺织服装企业数量', en: 'Textile and garment firms', quote: '到2027年全州纺织服装产业企业数量突破300户', target: 300, unit: 'firms', period: 'by-2027', source: 'registry', enterable: false },
  { id: 'aboveScaleFirms', zh: '规上纺织服装企业', en: 'Above-scale firms (规上)', quote: '到2027年全州规模以上纺织服装企业达150家', target: 150, unit: 'firms', period: 'by-2027', source: 'registry', enterable: false },
  { id: 'newAboveScalePerYear', zh: '每年新增规上企业', en: 'New above-scale firms per year', quote: '每年新增纺织服装规上企业30家', target: 30, unit: 'firms/year', period: 'per-year', source: 'registry', enterable: true },
  { id: 'aboveScaleOutputValue', zh: '规上企业总产值', en: 'Output value of above-scale firms', quote: '规上纺织服装企业实现总产值达100亿元', target: 10_000_000_000, unit: 'yuan', period: 'by-2027', source: 'entered', enterable: true },
  { id: 'employment', zh: '带动就业人数', en: 'Employment', quote: '带动就业人数超10万人', target: 100_000, unit: 'people', period: 'by-2027', source: 'registry', enterable: false },
  { id: 'firmsOutput1bn', zh: '年产值10亿元以上企业', en: 'Firms with output ≥ ¥1 bn', quote: '三年内形成年产值达10亿元以上企业5家', target: 5, unit: 'firms', period: 'by-2027', source: 'entered', enterable: true },
  { id: 'firmsOutput100m', zh: '产值亿元以上企业', en: 'Firms with output ≥ ¥100 m', quote: '产值亿元以上企业20家', target: 20, unit: 'firms', period: 'by-2027', source: 'entered', enterable: true },
  { id: 'specialisedFirms', zh: '省级以上专精特新企业', en: 'Provincial 专精特新 firms (cumulative)', quote: '累计创建省级以上纺织服装行业专精特新企业10家', target: 10, unit: 'firms', period: 'by-2027', source: 'entered', enterable: true },
  { id: 'smartFactories', zh: '智能工厂', en: 'Smart factories', quote: '到2027年全州建成纺织服装智能工厂5家以上', target: 5, unit: 'firms', period: 'by-2027', source: 'registry', enterable: false },
  { id: 'connectedShare', zh: '规上企业接入工业互联网平台覆盖面', en: 'Share of above-scale firms connected to the platform', quote: '规模以上纺织服装企业接入工业互联网平台覆盖面达50%', target: 0.5, unit: 'share', period: 'by-2027', source: 'telemetry', enterable: false },
  { id: 'firmsBroughtInPerYear', zh: '每年引进落地企业', en: 'Firms brought in per year', quote: '每年引进落地纺织服装企业50家以上', target: 50, unit: 'firms/year', period: 'per-year', source: 'entered', enterable: true },
  { id: 'leadingFirmsBroughtInPerYear', zh: '其中标志性、引领性、龙头性企业', en: 'Of them leading firms per year', quote: '其中标志性、引领性、龙头性企业不少于10家', target: 10, unit: 'firms/year', period: 'per-year', source: 'entered', enterable: true },
  { id: 'standardFactoryFloor', zh: '标准厂房及配套用房', en: 'Standard factory floor built', quote: '力争3年建成标准厂房及配套用房200万平方米', target: 2_000_000, unit: 'm²', period: 'by-2027', source: 'entered', enterable: true },
];

export function targetDef(id: string): TargetDef | undefined {
  return TARGETS.find((t) => t.id === id);
}
