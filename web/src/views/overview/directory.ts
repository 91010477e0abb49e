// The overview's lists beside the figures: the action plan's targets with their progress (and whether demo firms
// were counted), and the firm directory with a filter (each firm's county links to its page).
import { link, progressBar, table, td, type Card } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { money, pct, qty } from '../../format.ts';
import { pick, t, tMaybe } from '../../i18n.ts';
import type { Firm, Places, PlanTarget, PlanTargets } from '../../types.ts';
import { demoNote, type DemoFields } from './plan-view.ts';

function targetValue(x: PlanTarget, v: number | null): string {
  if (v === null) return t('planNotEntered');
  if (x.unit === 'share') return pct(v);
  if (x.unit === 'yuan') return money(v);
  return qty(v, x.unit);
}

export function renderPlan(plan: Card, p: PlanTargets & DemoFields): void {
  plan.title.textContent = t('planTitle', { year: p.year });
  clear(plan.body, demoNote(p), h('ul', { class: 'targets' }, ...p.targets.map((x) => h('li', { 'data-target': x.id, title: x.quote },
    h('div', { class: 'target-head' },
      h('span', { class: 'target-name' }, pick(x)),
      h('span', { class: 'target-figure' }, `${targetValue(x, x.value)} / ${targetValue(x, x.target)}`)),
    progressBar(x.progress, x.met),
    h('div', { class: 'target-foot muted small-text' }, `${tMaybe('planSource_', x.valueSource)}${x.progress !== null ? ` · ${pct(x.progress, 0)}` : ''}${x.period === 'per-year' ? ` · ${x.year}` : ''}`)))));
}

/** Every firm in scope, by county and name, filtered by name or id as the user types. */
export class FirmDirectory {
  private readonly filter = h('input', { type: 'search', placeholder: t('filterFirms'), 'aria-label': t('filterFirms') });
  private readonly tableBox = h('div', { class: 'scroll' });

  private firms = new Map<string, Firm>();
  private places: Places | undefined;

  constructor(private readonly body: HTMLElement) {
    this.filter.addEventListener('input', () => this.render());
  }

  show(firms: Map<string, Firm>, places: Places): void {
    this.firms = firms;
    this.places = places;
    clear(this.body, this.filter, this.tableBox);
    this.render();
  }

  private render(): void {
    const pl = this.places;
    if (!pl) return;
    const q = this.filter.value.trim().toLowerCase();
    const list = [...this.firms.values()].filter((f) => !q || f.name.toLowerCase().includes(q) || f.id.toLowerCase().includes(q)).sort((a, b) => a.county.localeCompare(b.county) || a.name.localeCompare(b.name, 'zh-CN'));
    clear(this.tableBox, table([t('colFirm'), t('colCountyOnly'), t('colSegment')], list.map((f) => {
      const county = pl.counties.find((c) => c.code === f.county);
      const seg = pl.segments.find((s) => s.id === f.segment);
      return h('tr', { 'data-firm': f.id },
        td(h('span', null, link(`#/firm/${encodeURIComponent(f.id)}`, f.name), f.aboveScale ? h('span', { class: 'tag' }, t('aboveScale')) : null, f.demo ? h('span', { class: 'tag demo' }, t('demo')) : null)),
        td(county ? link(`#/county/${encodeURIComponent(county.code)}`, pick(county)) : f.county), td(seg ? pick(seg) : f.segment));
    })));
  }
}
