// The 15-minute rollups of a scope as CSV, one row per firm, quantity, source and interval.
import type { Scope } from '../base/scope.ts';
import { QUARTER_HOUR, floorTo, localDateTime } from '../../common/time.ts';
import { METER_TYPE, QUANTITY_UNIT, measurementOfType, type Quantity } from './carriers.ts';
import type { EnergyEnv } from './context.ts';
import { hasMeter, isCarrier } from './figures.ts';

const HEADER = 'firm_id,firm_name,county,park,segment,quantity,unit,source,used_for_firm_total,interval_start,interval_end,value,devices,resets';

function csvText(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function rollupCsv(env: EnergyEnv, scope: Scope, from: number, to: number, maxRows: number): Promise<{ csv: string; rows: number; truncated: boolean }> {
  const idx = await env.ctx.index.get();
  const a = floorTo(from, QUARTER_HOUR);
  const b = floorTo(to - 1, QUARTER_HOUR) + QUARTER_HOUR;
  const lines = [HEADER];
  let rows = 0;
  let truncated = false;
  const series = (await env.ctx.store.rollupRows({ scope, from: a, to: b, limit: maxRows + 1 }))
    .sort((x, y) => x.firmId.localeCompare(y.firmId) || x.quantity.localeCompare(y.quantity));
  for (const s of series) {
    const f = idx.firms.get(s.firmId);
    const quantity = s.quantity as Quantity;
    // Outputs always count; a carrier's source counts when it is what the firm is measured by (meters first).
    const used = !isCarrier(quantity) || ((s.source === measurementOfType(METER_TYPE[quantity])) === hasMeter(idx, s.firmId, quantity));
    for (const row of s.rows) {
      if (rows >= maxRows) { truncated = true; break; }
      lines.push([s.firmId, csvText(f?.name ?? ''), f?.county ?? '', f?.park ?? '', f?.segment ?? '', quantity, QUANTITY_UNIT[quantity] ?? '', s.source, used ? 'yes' : 'no',
        localDateTime(row.time), localDateTime(row.time + QUARTER_HOUR), String(row.value), String(row.devices), String(row.resets)].join(','));
      rows++;
    }
  }
  return { csv: `${lines.join('\r\n')}\r\n`, rows, truncated };
}
