// County (#/county/<code>) and park (#/park/<id>) pages, the drill-down of the plan's 一核多基地 structure:
// breadcrumbs, the connected share, the energy history over the picked range, and the parks (county) and firms
// (county and park) with their energy in that range and whether they are connected. Demo firms are left out of
// the lists and the figures unless the toggle (shared with the overview) counts them. The bureau's pages: an
// engineer gets the not-found notice, never an empty page.
import { get, places, qs } from '../api.ts';
import { card, link, load, table, td, type Card } from '../components.ts';
import { clear, h } from '../dom.ts';
import { ago, pct, qty } from '../format.ts';
import { pick, t } from '../i18n.ts';
import { keepRange, type TimeRange } from '../range.ts';
import type { Device, EnergySummary, Firm, Places } from '../types.ts';
import { basisChoice } from './basis.ts';
import { breadcrumbs, placeCrumbs } from './breadcrumbs.ts';
import type { ViewContext } from './context.ts';
import { EnergyHistory, type EnergyScope } from './history/energy-history.ts';
import { ENERGY_PRESETS, RangePicker } from './history/range-picker.ts';
import { tx } from './history/texts.ts';
import { connectedShare, type PlanShare } from './overview/kpi.ts';
import { notFound } from './notfound.ts';
import { demoNote, demoQuery, demoToggle, includeDemo, type DemoFields } from './overview/plan-view.ts';

const DAY = 86_400_000;
type Row = EnergySummary['breakdown'][number];
type Summary = EnergySummary & DemoFields;

/**
 * Each listed firm's newest valid telemetry, from its devices' last telemetry. Per firm: the API has no per-firm
 * connected flag, and the whole prefecture's device list would be far larger than the firms on one page.
 */
async function lastTelemetryByFirm(firms: readonly Firm[]): Promise<Map<string, number>> {
  const lists = await Promise.all(firms.map((f) => get<Device[]>(`/firms/${encodeURIComponent(f.id)}/devices`)));
  return new Map(firms.map((f, i) => [f.id, Math.max(0, ...(lists[i] ?? []).map((d) => d.lastTelemetryAt ?? 0))]));
}

function energyCells(row: Row | undefined): HTMLTableCellElement[] {
  return [
    td(qty(row?.carriers.electricity.counted ?? 0, 'kWh'), true, { 'data-kwh': String(row?.carriers.electricity.counted ?? 0) }),
    td(qty(row?.totalTce ?? 0, 'tce', 3), true, { 'data-tce': String(row?.totalTce ?? 0) }),
  ];
}

const energyHeaders = () => [{ text: tx('colElectricity'), num: true }, { text: tx('colEnergy'), num: true }];

function renderParks(body: HTMLElement, pl: Places, county: string, share: PlanShare | undefined, s: EnergySummary): void {
  const parks = pl.parks.filter((p) => p.county === county);
  if (parks.length === 0) {
    clear(body, h('p', { class: 'muted' }, tx('noParks')));
    return;
  }
  const energy = new Map(s.breakdown.map((b) => [b.key, b]));
  clear(body, table([tx('colPark'), { text: t('colAboveScale'), num: true }, { text: t('colConnected'), num: true }, { text: t('colShare'), num: true }, ...energyHeaders()],
    parks.map((p) => {
      const sh = share?.byPark?.find((x) => x.id === p.id);
      return h('tr', { 'data-park': p.id }, td(link(keepRange(`#/park/${encodeURIComponent(p.id)}`), pick(p))),
        td(sh?.aboveScaleFirms ?? '–', true), td(sh?.connected ?? '–', true), td(sh ? pct(sh.share) : '–', true), ...energyCells(energy.get(p.id)));
    }), { class: 'place-table' }));
}

function renderFirms(body: HTMLElement, firms: Firm[], pl: Places, last: Map<string, number>, windowDays: number, s: Summary): void {
  if (firms.length === 0) {
    clear(body, h('p', { class: 'muted' }, tx('noFirms')), demoNote(s));
    return;
  }
  const energy = new Map(s.breakdown.map((b) => [b.key, b]));
  const since = Date.now() - windowDays * DAY;
  const rows = [...firms].sort((a, b) => a.name.localeCompare(b.name, 'zh-CN')).map((f) => {
    const seen = last.get(f.id) ?? 0;
    const park = pl.parks.find((p) => p.id === f.park);
    const connected = seen >= since && seen > 0;
    return h('tr', { 'data-firm': f.id },
      td(h('span', null, link(keepRange(`#/firm/${encodeURIComponent(f.id)}`), f.name), f.aboveScale ? h('span', { class: 'tag' }, t('aboveScale')) : null)),
      td(park ? pick(park) : f.park),
      td(h('span', { class: `pill ${connected ? 'on' : 'off'}`, 'data-connected': String(connected) }, tx(connected ? 'connectedYes' : 'connectedNo'))),
      td(seen ? ago(seen) : t('never')), ...energyCells(energy.get(f.id)));
  });
  clear(body, demoNote(s), h('div', { class: 'scroll' }, table([tx('colFirm'), tx('colPark'), tx('colConnectedState'), tx('colLastTelemetry'), ...energyHeaders()], rows, { class: 'place-table' })));
}

interface Place { target: EnergyScope; name: string; county: string; park?: string; share: { aboveScaleFirms: number; connected: number; share: number } | undefined }

/** Head (breadcrumbs, name, share, picker), the history card and the lists, reloaded when the range changes. */
function mountPlace(root: HTMLElement, ctx: ViewContext, pl: Places, place: Place, share: PlanShare | undefined): void {
  const { scope } = ctx;
  const picker = new RangePicker(ENERGY_PRESETS, 'today');
  const s = place.share;
  root.append(h('div', { class: 'grid' },
    h('section', { class: 'card full place-head', [`data-${place.target.kind}`]: place.target.id },
      breadcrumbs(placeCrumbs(ctx.identity, pl, place.county, place.park)),
      h('h1', { class: 'page-title', 'data-testid': 'place-name' }, tx(place.target.kind === 'county' ? 'countyPage' : 'parkPage', { name: place.name })),
      s ? h('p', { class: 'muted', 'data-testid': 'place-share' }, tx('connectedShareLine', { connected: s.connected, total: s.aboveScaleFirms, share: pct(s.share) })) : null,
      picker.el, demoToggle(() => ctx.remount()))));
  const grid = root.lastElementChild as HTMLElement;
  const history = new EnergyHistory(place.target, basisChoice(), scope, picker, () => ctx.remount());
  const parksCard: Card | undefined = place.target.kind === 'county' ? card(tx('parksTitle'), { id: 'place-parks' }) : undefined;
  const firmsCard = card(tx('firmsTitle'), { id: 'place-firms', full: true });
  grid.append(history.card.el, ...(parksCard ? [parksCard.el] : []), firmsCard.el);

  const counted = includeDemo();
  const firmsHere = get<Firm[]>('/firms').then((list) => list.filter((f) => (counted || !f.demo) && (place.park ? f.park === place.park : f.county === place.county)));
  const last = firmsHere.then(lastTelemetryByFirm);
  const summary = (by: 'park' | 'firm', r: TimeRange) => get<Summary>(`/energy/summary${qs({ scope: place.target.kind, id: place.target.id, by, from: r.from, to: r.to, basis: basisChoice(), ...demoQuery() })}`);
  const loadLists = (r: TimeRange) => {
    if (parksCard) void load(scope, parksCard.body, () => summary('park', r), (x) => renderParks(parksCard.body, pl, place.county, share, x));
    void load(scope, firmsCard.body, () => Promise.all([firmsHere, last, summary('firm', r)]),
      ([firms, seen, x]) => renderFirms(firmsCard.body, firms, pl, seen, share?.windowDays ?? 30, x));
  };
  picker.onChange(loadLists);
  loadLists(picker.range);
}

/** The connected share, or nothing when the plan tracker is not there (the page shows the rest). */
const shareOrNothing = (): Promise<PlanShare | undefined> => connectedShare().catch(() => undefined);

function placeOf(pl: Places, share: PlanShare | undefined, kind: 'county' | 'park', id: string): Place | undefined {
  if (kind === 'county') {
    const county = pl.counties.find((c) => c.code === id);
    return county && { target: { kind, id }, name: pick(county), county: id, share: share?.byCounty.find((c) => c.id === id) };
  }
  const park = pl.parks.find((p) => p.id === id);
  return park && { target: { kind, id }, name: pick(park), county: park.county, park: id, share: share?.byPark?.find((p) => p.id === id) };
}

/** #/county/<code> or #/park/<id>. */
export async function mountPlacePage(root: HTMLElement, ctx: ViewContext, kind: 'county' | 'park', id: string): Promise<void> {
  if (ctx.identity.kind !== 'prefecture') return notFound(root, tx('prefectureOnly'));
  const [pl, share] = await Promise.all([places(), shareOrNothing()]);
  if (!ctx.scope.alive) return;
  const place = placeOf(pl, share, kind, id);
  if (!place) return notFound(root, tx('notFoundPlace'));
  mountPlace(root, ctx, pl, place, share);
}
