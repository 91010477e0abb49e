// Where a page sits: prefecture → county → park → firm → device. Engineers see the places as text only, since
// the pages of a county or park are the bureau's.
import { h } from '../dom.ts';
import { pick } from '../i18n.ts';
import { keepRange } from '../range.ts';
import type { Identity } from '../session.ts';
import type { Firm, Places } from '../types.ts';
import { tx } from './history/texts.ts';

export interface Crumb { label: string; href?: string | undefined }

export function breadcrumbs(crumbs: readonly Crumb[]): HTMLElement {
  const items = crumbs.map((c, i) => {
    const last = i === crumbs.length - 1;
    const inner = c.href && !last ? h('a', { href: keepRange(c.href) }, c.label) : h('span', last ? { 'aria-current': 'page' } : null, c.label);
    return h('li', { 'data-crumb': i }, inner);
  });
  return h('nav', { class: 'breadcrumbs', 'aria-label': tx('breadcrumbs'), 'data-testid': 'breadcrumbs' }, h('ol', null, ...items));
}

/** Prefecture, county and (when given) park, linked for the bureau. */
export function placeCrumbs(identity: Identity, pl: Places, county: string, park?: string): Crumb[] {
  const linked = identity.kind === 'prefecture';
  const c = pl.counties.find((x) => x.code === county);
  const p = park ? pl.parks.find((x) => x.id === park) : undefined;
  const out: Crumb[] = [
    { label: tx('crumbPrefecture'), href: linked ? '#/' : undefined },
    { label: c ? pick(c) : county, href: linked ? `#/county/${encodeURIComponent(county)}` : undefined },
  ];
  if (park) out.push({ label: p ? pick(p) : park, href: linked ? `#/park/${encodeURIComponent(park)}` : undefined });
  return out;
}

export function firmCrumbs(identity: Identity, pl: Places, firm: Firm): Crumb[] {
  return [...placeCrumbs(identity, pl, firm.county, firm.park), { label: firm.name, href: `#/firm/${encodeURIComponent(firm.id)}` }];
}
