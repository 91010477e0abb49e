// The Dehong demo firms seeded by `npm start`: the five counties, the core and base parks, the plan's segments.
// Firms the action plan names (雅戈尔, 湖北浩宇, 晋江仁和, 仕得宝, 卡地尼, 金链节) appear here only as demo data,
// marked demo = true and "(演示)" in the name; their codes are made up (valid check character, fake serial).
import { makeUscc } from './ids.ts';
import type { NewFirm, Registry } from './registry/registry.ts';
import type { SmartFactoryTier } from './places.ts';

type Row = [name: string, county: string, park: string, segment: string, aboveScale: boolean, employees: number, landMu: number, tier?: SmartFactoryTier];

const ROWS: Row[] = [
  ['雅戈尔（德宏）服饰（演示）', '533102', 'ruili-coop', 'garment', true, 2200, 180, 'advanced'],
  ['湖北浩宇（瑞丽）纺织（演示）', '533102', 'ruili-coop', 'spinning', true, 900, 150, 'basic'],
  ['晋江仁和（瑞丽）织造（演示）', '533102', 'ruili-border', 'weaving', true, 650, 90, 'basic'],
  ['仕得宝（瑞丽）服装（演示）', '533102', 'ruili-border', 'garment', true, 1200, 60],
  ['卡地尼（瑞丽）服饰（演示）', '533102', 'ruili-coop', 'garment', true, 800, 55],
  ['金链节（瑞丽）拉链（演示）', '533102', 'ruili-border', 'fabric', true, 300, 40],
  ['瑞丽边城印染（演示）', '533102', 'ruili-coop', 'dyeing', true, 420, 110],
  ['瑞丽沿边面料（演示）', '533102', 'ruili-border', 'fabric', true, 260, 45],
  ['瑞丽丝路袜业（演示）', '533102', 'ruili-border', 'socks-hats', false, 120, 12],
  ['瑞丽新纺纱线（演示）', '533102', 'ruili-coop', 'spinning', true, 380, 70],
  ['瑞丽锦程制衣（演示）', '533102', 'ruili-coop', 'garment', false, 90, 8],
  ['瑞丽宏达化纤（演示）', '533102', 'ruili-coop', 'chemical-fibre', true, 350, 130],
  ['芒市孔雀织造（演示）', '533103', 'mangshi', 'weaving', true, 310, 50],
  ['芒市勐焕服装（演示）', '533103', 'mangshi', 'garment', true, 520, 35],
  ['芒市傣锦坊（演示）', '533103', 'mangshi', 'fabric', false, 60, 6],
  ['芒市润丰纺纱（演示）', '533103', 'mangshi', 'spinning', true, 290, 60],
  ['芒市芒宽印染（演示）', '533103', 'mangshi', 'dyeing', true, 200, 75],
  ['芒市银杏袜帽（演示）', '533103', 'mangshi', 'socks-hats', false, 80, 10],
  ['陇川正信丝绸（演示）', '533124', 'longchuan', 'silk', true, 450, 95],
  ['陇川户撒缫丝（演示）', '533124', 'longchuan', 'silk', true, 260, 40],
  ['陇川章凤服装（演示）', '533124', 'longchuan', 'garment', false, 110, 9],
  ['陇川景罕纺织（演示）', '533124', 'longchuan', 'weaving', true, 180, 30],
  ['陇川蚕桑合作社（演示）', '533124', 'longchuan', 'silk', false, 40, 20],
  ['盈江平原制衣（演示）', '533123', 'yingjiang', 'garment', true, 600, 40],
  ['盈江那邦纺纱（演示）', '533123', 'yingjiang', 'spinning', true, 240, 55],
  ['盈江弄璋袜业（演示）', '533123', 'yingjiang', 'socks-hats', true, 210, 18],
  ['盈江太平面料（演示）', '533123', 'yingjiang', 'fabric', false, 70, 7],
  ['盈江旧城帽业（演示）', '533123', 'yingjiang', 'socks-hats', false, 50, 5],
  ['梁河南甸织布（演示）', '533122', 'lianghe', 'weaving', true, 160, 28],
  ['梁河九保丝绸（演示）', '533122', 'lianghe', 'silk', true, 140, 25],
  ['梁河曩宋服饰（演示）', '533122', 'lianghe', 'garment', false, 85, 6],
  ['梁河芒东纺纱（演示）', '533122', 'lianghe', 'spinning', false, 95, 14],
  ['瑞丽畹町服装（演示）', '533102', 'ruili-border', 'garment', true, 480, 30],
  ['瑞丽弄岛印花（演示）', '533102', 'ruili-coop', 'dyeing', false, 75, 15],
  ['芒市遮放织造（演示）', '533103', 'mangshi', 'weaving', false, 65, 9],
  ['盈江铜壁关纺织（演示）', '533123', 'yingjiang', 'weaving', true, 230, 35],
  ['陇川清平服装（演示）', '533124', 'longchuan', 'garment', true, 330, 22],
  ['梁河小厂乡袜帽（演示）', '533122', 'lianghe', 'socks-hats', false, 45, 4],
  ['瑞丽姐告面料（演示）', '533102', 'ruili-border', 'fabric', true, 270, 26],
  ['芒市风平化纤（演示）', '533103', 'mangshi', 'chemical-fibre', false, 110, 40],
];

export function demoFirms(): NewFirm[] {
  return ROWS.map(([name, county, park, segment, aboveScale, employees, landMu, tier], i) => ({
    id: makeUscc(county, 9_100_000 + i), name, county, park, segment, aboveScale, employees, landMu, smartFactoryTier: tier ?? 'none', demo: true,
  }));
}

/** Adds the demo firms that are not registered yet; returns how many were added. */
export async function seedDemoFirms(registry: Registry): Promise<number> {
  let added = 0;
  for (const f of demoFirms()) {
    if (await registry.getFirm(f.id)) continue;
    await registry.createFirm(f);
    added++;
  }
  return added;
}
