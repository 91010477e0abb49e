// Demo firms (what `npm start` seeds) are left out of every figure over a scope wider than one firm unless asked
// for: totals, breakdowns, rankings and series the bureau signs must not contain them (docs/domain.md, section 4).
// A firm's or a device's own figures are its own, demo or not.
import type { FirmIndexSnapshot } from '../base/firm-index.ts';
import { firmInScope, type Scope } from '../base/scope.ts';

/** What a figure says about demo firms: whether they were counted and how many were left out. */
export interface DemoCounted {
  includeDemo: boolean;
  demoFirmsLeftOut: number;
}

export interface DemoFilter extends DemoCounted {
  leftOut: ReadonlySet<string>;
}

export function demoFilter(idx: FirmIndexSnapshot, scope: Scope, includeDemo: boolean): DemoFilter {
  const leftOut = new Set<string>();
  if (!includeDemo && scope.kind !== 'firm' && scope.kind !== 'device') {
    for (const f of idx.firms.values()) if (f.demo && firmInScope(f, scope)) leftOut.add(f.id);
  }
  return { includeDemo, demoFirmsLeftOut: leftOut.size, leftOut };
}

/** Rows of the firms a figure counts. */
export function counted<T extends { firm: string }>(rows: readonly T[], demo: DemoFilter): readonly T[] {
  return demo.leftOut.size === 0 ? rows : rows.filter((r) => !demo.leftOut.has(r.firm));
}
