// Counties, parks and segments of the Dehong textile cluster (docs/domain.md).
export interface County { code: string; zh: string; en: string }
export interface Park { id: string; county: string; zh: string; en: string; role: 'core' | 'base' }
export interface Segment { id: string; zh: string; en: string }

export const COUNTIES: readonly County[] = [
  { code: '533102', zh: '瑞丽市', en: 'Ruili' },
  { code: '533103', zh: '芒市', en: 'Mangshi' },
  { code: '533122', zh: '梁河县', en: 'Lianghe' },
  { code: '533123', zh: '盈江县', en: 'Yingjiang' },
  { code: '533124', zh: '陇川县', en: 'Longchuan' },
];

// "一核多基地": the core is in Ruili, the bases are the provincial parks of the other four.
export const PARKS: readonly Park[] = [
  { id: 'ruili-border', county: '533102', zh: '瑞丽沿边产业园区', en: 'Ruili Border Industrial Park', role: 'core' },
  { id: 'ruili-coop', county: '533102', zh: '瑞丽产业协作园区', en: 'Ruili Industrial Cooperation Park', role: 'core' },
  { id: 'mangshi', county: '533103', zh: '芒市省级产业园区', en: 'Mangshi Provincial Industrial Park', role: 'base' },
  { id: 'longchuan', county: '533124', zh: '陇川省级产业园区', en: 'Longchuan Provincial Industrial Park', role: 'base' },
  { id: 'yingjiang', county: '533123', zh: '盈江省级产业园区', en: 'Yingjiang Provincial Industrial Park', role: 'base' },
  { id: 'lianghe', county: '533122', zh: '梁河省级产业园区', en: 'Lianghe Provincial Industrial Park', role: 'base' },
];

export const SEGMENTS: readonly Segment[] = [
  { id: 'silk', zh: '蚕丝绸', en: 'Sericulture and silk reeling' },
  { id: 'chemical-fibre', zh: '化纤涤纶', en: 'Chemical fibre and polyester' },
  { id: 'spinning', zh: '纺纱', en: 'Spinning' },
  { id: 'weaving', zh: '织造', en: 'Weaving' },
  { id: 'dyeing', zh: '印染', en: 'Dyeing and printing' },
  { id: 'fabric', zh: '面料', en: 'Fabric' },
  { id: 'garment', zh: '制衣', en: 'Garment making' },
  { id: 'socks-hats', zh: '袜帽', en: 'Socks and hats' },
  // The action plan names garment accessories (拉链、钮扣) and 鞋帽 beside socks; they are segments of their own.
  { id: 'accessories', zh: '服装辅料（拉链、钮扣）', en: 'Garment accessories (zips, buttons)' },
  { id: 'footwear', zh: '鞋帽', en: 'Shoes and hats' },
];

export const SMART_FACTORY_TIERS = ['none', 'basic', 'advanced', 'excellent', 'leading'] as const;
export type SmartFactoryTier = (typeof SMART_FACTORY_TIERS)[number];

export const countyCodes = COUNTIES.map((c) => c.code);
export const parkIds = PARKS.map((p) => p.id);
export const segmentIds = SEGMENTS.map((s) => s.id);
