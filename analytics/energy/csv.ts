// The 15-minute rollups of a scope as CSV, one row per firm, quantity, source and interval.
import type { Scope } from '../base/scope.ts';
import { QUARTER_HOUR, floorTo, localDateTime } from '../../common/time.ts';
import { CARRIER_RULE_TEXT, QUANTITY_UNIT, carrierRule, countedSource, isFlow, isOutputSource, type Quantity } from './carriers.ts';
import type { EnergyEnv } from './context.ts';
import { firmSteamSource, hasMeter, isCarrier } from './figures.ts';
import { demoFilter } from './demo.ts';
import { provisionalOf, type Provisional } from './sources.ts';
import { csvCell } from '../base/csv.ts';

// boundary_rule: the firm's steam source; counting_rule: how the row's carrier is counted at the firm's boundary.
const HEADER = 'firm_id,firm_name,county,park,segment,quantity,unit,source,used_for_firm_total,boundary_rule,counting_rule,interval_start,interval_end,value,devices,resets';
/** Export and generation rows: measured, never in the firm's total. */
const FLOW_RULE = 'measured and not counted: purchased electricity is the grid import';

export async function rollupCsv(env: EnergyEnv, scope: Scope, from: number, to: number, maxRows: number, includeDemo = false): Promise<{ csv: string; rows: number; truncated: boolean; provisional: Provisional | null; demoFirmsLeftOut: number }> {
  const idx = await env.ctx.index.get();
  // Over a county, park or the prefecture, demo firms' rows are left out unless asked for (demo.ts).
  const demo = demoFilter(idx, scope, includeDemo);
  const a = floorTo(from, QUARTER_HOUR);
  const b = floorTo(to - 1, QUARTER_HOUR) + QUARTER_HOUR;
  const lines = [HEADER];
  let rows = 0;
  let truncated = false;
  const [stored, provisional] = await Promise.all([env.ctx.store.rollupRows({ scope, from: a, to: b, limit: maxRows + 1 }), provisionalOf(env, scope, 'rollup', a, b)]);
  const series = stored.filter((x) => !demo.leftOut.has(x.firmId)).sort((x, y) => x.firmId.localeCompare(y.firmId) || x.quantity.localeCompare(y.quantity));
  for (const s of series) {
    const f = idx.firms.get(s.firmId);
    const quantity = s.quantity as Quantity;
    // Whether the source is in the firm's counted figure (meters first, then its steam-source rule), and that rule.
    const steam = firmSteamSource(idx, s.firmId, (id) => env.ctx.flagsOf(id)).source;
    const metered = isCarrier(quantity) && hasMeter(idx, s.firmId, quantity);
    const used = isCarrier(quantity) ? countedSource(quantity, s.source, metered, steam) : !isFlow(quantity) && isOutputSource(quantity, s.source);
    const rule = isCarrier(quantity) ? CARRIER_RULE_TEXT[quantity][carrierRule(quantity, metered, steam)].en : isFlow(quantity) ? FLOW_RULE : '';
    for (const row of s.rows) {
      if (rows >= maxRows) { truncated = true; break; }
      lines.push([s.firmId, csvCell(f?.name), f?.county ?? '', f?.park ?? '', f?.segment ?? '', quantity, QUANTITY_UNIT[quantity] ?? '', s.source, used ? 'yes' : 'no', steam, csvCell(rule),
        localDateTime(row.time), localDateTime(row.time + QUARTER_HOUR), String(row.value), String(row.devices), String(row.resets)].join(','));
      rows++;
    }
  }
  return { csv: `${lines.join('\r\n')}\r\n`, rows, truncated, provisional, demoFirmsLeftOut: demo.demoFirmsLeftOut };
}
