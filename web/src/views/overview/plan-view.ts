// The plan view's choices and tables beside the KPI: whether demo firms are counted (remembered, off by default:
// the figures the bureau signs leave them out), the official share against the statistics bureau's counts with
// a form to enter a county's count for a year, and the per-mu ranking (亩均论英雄) with each firm's energy coverage.
import { put } from '../../api.ts';
import { link, table, td } from '../../components.ts';
import { clear, h, type Child } from '../../dom.ts';
import { money, num, pct } from '../../format.ts';
import { pick } from '../../i18n.ts';
import type { Firm, Places } from '../../types.ts';

const KEY = 'includeDemo';

export function includeDemo(): boolean {
  return localStorage.getItem(KEY) === '1';
}

/** The query parameter of the choice (absent: the API's default, without demo firms). */
export const demoQuery = (): { includeDemo?: string } => (includeDemo() ? { includeDemo: 'true' } : {});

/** The switch: include demo firms or not; the choice is remembered. */
export function demoToggle(onChange: () => void): HTMLElement {
  const box = h('input', { type: 'checkbox', 'data-testid': 'include-demo', ...(includeDemo() ? { checked: 'checked' } : {}) });
  box.addEventListener('change', () => { localStorage.setItem(KEY, box.checked ? '1' : '0'); onChange(); });
  return h('label', { class: 'demo-toggle small-text' }, box, ' ', pick({ zh: '含演示企业', en: 'include demo firms' }));
}

export interface DemoFields { includeDemo?: boolean; demoFirmsLeftOut?: number }

/** Says whether demo firms were counted and how many were left out. */
export function demoNote(d: DemoFields): HTMLElement | null {
  if (d.includeDemo === undefined) return null;
  const text = d.includeDemo
    ? pick({ zh: '已计入演示企业', en: 'demo firms counted' })
    : pick({ zh: `未计入演示企业 ${d.demoFirmsLeftOut ?? 0} 家`, en: `${d.demoFirmsLeftOut ?? 0} demo firms left out` });
  return h('p', { class: d.includeDemo ? 'warn small-text' : 'muted small-text', 'data-testid': 'demo-note' }, text);
}

export interface OfficialShare {
  year: number; aboveScaleFirms: number | null; connected: number; share: number | null; missingCounties: string[]; definition: string; note: string | null;
}

/** The share against the statistics bureau's count, or which counties have none for the year. */
export function officialLine(o: OfficialShare | undefined, countyName: (code: string) => string): HTMLElement | null {
  if (!o) return null;
  const text = o.share === null || o.aboveScaleFirms === null
    ? pick({ zh: `统计局口径（${o.year}）：未录入 ${o.missingCounties.map(countyName).join('、')} 的规上企业数`, en: `Statistics bureau basis (${o.year}): no count entered for ${o.missingCounties.map(countyName).join(', ')}` })
    : pick({ zh: `统计局口径（${o.year}）：${pct(o.share)}（已接入 ${o.connected} 家 / 统计局规上企业 ${o.aboveScaleFirms} 家）`, en: `Statistics bureau basis (${o.year}): ${pct(o.share)} (${o.connected} connected of ${o.aboveScaleFirms} above-scale firms counted)` });
  return h('p', { class: 'kpi-official', 'data-testid': 'kpi-official', title: o.definition }, text);
}

/** Bureau staff enter the statistics bureau's count of above-scale firms of a county for a year (audited by the API). */
export function officialCountForm(pl: Places, year: number, saved: () => void): HTMLElement {
  const county = h('select', { name: 'county', 'data-field': 'official-county' }, ...pl.counties.map((c) => h('option', { value: c.code }, pick(c))));
  const yearIn = h('input', { type: 'number', name: 'year', min: '2000', max: '2100', value: String(year), 'data-field': 'official-year' });
  const count = h('input', { type: 'number', name: 'count', min: '0', step: '1', required: true, 'data-field': 'official-count' });
  const note = h('input', { name: 'note', maxlength: '500', placeholder: pick({ zh: '来源，如统计局年报', en: 'source, e.g. the statistics yearbook' }) });
  const result = h('span', { class: 'small-text', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'small' }, pick({ zh: '录入', en: 'Enter' }));
  const form = h('form', { class: 'official-form', 'data-testid': 'official-form' }, county, yearIn, count, note, submit, result);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    put(`/plan/official-counts/${county.value}/${yearIn.value}`, { count: Number(count.value), ...(note.value.trim() ? { note: note.value.trim() } : {}) })
      .then(saved, (err: unknown) => { clear(result, h('span', { class: 'error' }, err instanceof Error ? err.message : String(err))); })
      .finally(() => { submit.disabled = false; });
  });
  return h('details', { class: 'official-entry' }, h('summary', { class: 'small-text' }, pick({ zh: '录入统计局规上企业数', en: 'Enter the statistics bureau\'s count' })), form);
}

export interface PerMuRow {
  firmId: string; name: string; county: string; score: number | null; rankInCounty: number | null; countyFirmsRanked: number;
  outputPerMu: number | null; taxPerMu: number | null; outputPerTce: number | null; missing: string[];
  energyCoverage: { daysWithData: number; days: number; coverage: number; enough: boolean };
}
export interface PerMu extends DemoFields {
  year: number; minCoverage: number; outputMeasure: { zh: string; en: string; note: string }; firms: PerMuRow[]; notes: string[];
}

function coverageCell(r: PerMuRow): Child {
  const c = r.energyCoverage;
  return h('span', { class: c.enough ? '' : 'warn', title: `${c.daysWithData} / ${c.days}` }, `${pct(c.coverage, 0)} (${c.daysWithData}/${c.days})`);
}

/** The per-mu table: ranked firms first; a firm without enough energy coverage shows its coverage instead of a rank. */
export function renderPerMu(body: HTMLElement, p: PerMu, firms: Map<string, Firm>, countyName: (code: string) => string): void {
  const rows = p.firms.map((r) => h('tr', { 'data-firm': r.firmId, 'data-ranked': r.rankInCounty === null ? 'no' : 'yes' },
    td(firms.has(r.firmId) ? link(`#/firm/${encodeURIComponent(r.firmId)}`, r.name) : r.name),
    td(countyName(r.county)),
    td(r.score === null ? '–' : num(r.score, 1), true),
    td(r.rankInCounty === null ? pick({ zh: '未排名', en: 'not ranked' }) : `${r.rankInCounty} / ${r.countyFirmsRanked}`),
    td(coverageCell(r)),
    td(money(r.outputPerMu), true), td(money(r.taxPerMu), true), td(money(r.outputPerTce), true)));
  clear(body,
    h('p', { class: 'muted small-text', 'data-testid': 'per-mu-measure' }, pick({
      zh: `产值口径：${p.outputMeasure.zh}（不是增加值）；能耗数据覆盖不足 ${pct(p.minCoverage, 0)} 天数的企业不参与排名`,
      en: `Output figure: ${p.outputMeasure.en} (产值, not value added); firms whose energy data cover less than ${pct(p.minCoverage, 0)} of the days are not ranked`,
    })),
    demoNote(p),
    h('div', { class: 'scroll' }, table([
      pick({ zh: '企业', en: 'Firm' }), pick({ zh: '县市', en: 'County' }), { text: pick({ zh: '得分', en: 'Score' }), num: true },
      pick({ zh: '县内排名', en: 'Rank in county' }), pick({ zh: '能耗数据覆盖', en: 'Energy coverage' }),
      { text: pick({ zh: '亩均产值', en: 'Output / mu' }), num: true }, { text: pick({ zh: '亩均税收', en: 'Tax / mu' }), num: true },
      { text: pick({ zh: '单位能耗产值', en: 'Output / tce' }), num: true },
    ], rows, { 'data-testid': 'per-mu-table' })));
}
