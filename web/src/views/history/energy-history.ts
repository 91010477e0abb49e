// The energy history card of a prefecture, county, park or firm: electricity (kWh) and total energy (kgce on the
// chosen basis) over the picked range, by the interval the range calls for, against the previous period (chart
// overlay and totals with the change), with the 15-minute CSV and the chart's data for download.
import { get, qs } from '../../api.ts';
import { COLORS, TimeChart } from '../../charts.ts';
import { basisLabel, card, showError, type Card, type Scope } from '../../components.ts';
import { csvBlob, downloadApiFile, downloadExport, exportButtons, fileNamePart, saveBlob } from '../../download.ts';
import { clear, h } from '../../dom.ts';
import { num, pct, qty } from '../../format.ts';
import { currentLang, tMaybe } from '../../i18n.ts';
import { localDate, localDateTime, monthStart, type TimeRange } from '../../range.ts';
import type { BasisId, EnergySeries } from '../../types.ts';
import { basisSwitch } from '../basis.ts';
import { demoQuery } from '../overview/plan-view.ts';
import type { RangePicker } from './range-picker.ts';
import { tx } from './texts.ts';

export interface EnergyScope { kind: 'prefecture' | 'county' | 'park' | 'firm'; id: string }
type Measure = 'kwh' | 'kgce';
interface Slot { time: number; kwh: number; kgce: number; empty: boolean }

const DAY = 86_400_000;
const MEASURE_UNIT: Record<Measure, string> = { kwh: 'kWh', kgce: 'kgce' };
const valueOf = (p: EnergySeries['points'][number], m: Measure): number => (m === 'kwh' ? p.carriers.electricity.counted : p.totalKgce);
const total = (s: EnergySeries, m: Measure): number => s.points.reduce((a, p) => a + valueOf(p, m), 0);

/** Ranges longer than this can be shown by month (the API's longest interval is a day). */
const MONTHLY_FROM = 62 * DAY;

/**
 * A series as slots from its start to its end: its intervals, or by month the sums of its days per local month.
 * An interval without data is an empty slot (a gap in the chart, not a zero).
 */
function slots(s: EnergySeries, monthly: boolean): Slot[] {
  const step = (x: number) => (monthly ? monthStart(x, 1) : x + s.intervalMs);
  const out = new Map<number, Slot>();
  for (let x = monthly ? monthStart(s.from) : s.from; x < s.to; x = step(x)) out.set(x, { time: x, kwh: 0, kgce: 0, empty: true });
  for (const p of s.points) {
    const slot = out.get(monthly ? monthStart(p.time) : p.time);
    if (!slot) continue;
    slot.kwh += p.carriers.electricity.counted;
    slot.kgce += p.totalKgce;
    slot.empty = false;
  }
  return [...out.values()];
}

/** The rollups CSV allows 366 days for a firm and 31 for anything wider (api/routes/energy.ts). */
const csvMaxDays = (kind: EnergyScope['kind']): number => (kind === 'firm' ? 366 : 31);

export class EnergyHistory {
  readonly card: Card;
  private measure: Measure = 'kwh';
  private monthly = false;
  private readonly grouping = h('div', { class: 'segmented', role: 'group', hidden: true });
  private data: { range: TimeRange; cur: EnergySeries; prev: EnergySeries } | undefined;
  private chart: TimeChart | undefined;
  private seq = 0;

  constructor(private readonly target: EnergyScope, private readonly basis: BasisId, private readonly scope: Scope, picker: RangePicker, remount: () => void) {
    this.card = card(tx('historyTitle'), { id: 'energy-history', wide: true });
    this.card.el.dataset.scope = target.kind;
    this.card.el.dataset.scopeId = target.id;
    const measures = h('div', { class: 'segmented', role: 'group' }, ...(['kwh', 'kgce'] as const).map((m) => h('button', {
      type: 'button', class: `seg${m === this.measure ? ' on' : ''}`, 'data-measure': m,
      onclick: (ev: Event) => {
        this.measure = m;
        for (const b of measures.querySelectorAll('button')) b.classList.toggle('on', b === ev.currentTarget);
        this.render();
      },
    }, tx(`measure_${m}`))));
    for (const monthly of [false, true]) {
      this.grouping.append(h('button', {
        type: 'button', class: 'seg', 'data-grouping': monthly ? 'month' : 'interval',
        onclick: () => { this.monthly = monthly; this.render(); },
      }, tx(monthly ? 'byMonth' : 'interval_1d')));
    }
    this.card.extra.append(this.grouping, measures, basisSwitch(remount));
    picker.onChange((r) => { void this.load(r); });
    scope.add(() => this.chart?.destroy());
    void this.load(picker.range);
    scope.every(120_000, () => { if (this.data?.range.live) void this.load(this.data.range); });
  }

  private series(from: number, to: number, r: TimeRange): Promise<EnergySeries> {
    const { kind, id } = this.target;
    return get<EnergySeries>(`/energy/series${qs({ scope: kind, id: kind === 'prefecture' ? undefined : id, from, to, interval: r.interval, basis: this.basis, ...demoQuery() })}`);
  }

  async load(r: TimeRange): Promise<void> {
    const seq = ++this.seq;
    const el = this.card.el;
    el.dataset.loading = 'true';
    try {
      const [cur, prev] = await Promise.all([this.series(r.from, r.to, r), this.series(r.prev.from, r.prev.to, r)]);
      if (!this.scope.alive || seq !== this.seq) return;
      if (this.data?.range.preset !== r.preset || this.data.range.from !== r.from) this.monthly = r.end - r.from > MONTHLY_FROM;
      this.data = { range: r, cur, prev };
      Object.assign(el.dataset, { from: String(r.from), to: String(r.to), prevFrom: String(r.prev.from), prevTo: String(r.prev.to), interval: r.interval, loading: 'false' });
      this.render();
    } catch (err) {
      if (this.scope.alive && seq === this.seq) showError(this.card.body, err, () => { void this.load(r); });
    }
  }

  private render(): void {
    const d = this.data;
    if (!d) return;
    const { range: r, cur, prev } = d;
    const chartHost = h('div', { class: 'chart' });
    const provisional = cur.provisional ?? prev.provisional;
    const long = r.end - r.from > MONTHLY_FROM;
    this.grouping.hidden = !long;
    for (const b of this.grouping.querySelectorAll('button')) b.classList.toggle('on', (b.dataset.grouping === 'month') === this.monthly);
    this.card.el.dataset.grouping = long && this.monthly ? 'month' : 'interval';
    clear(this.card.body,
      h('p', { class: 'muted small-text', 'data-testid': 'history-period' }, tx('periodNote', { from: r.fromDate, to: localDate(r.to - 1), interval: long && this.monthly ? tx('byMonth') : tx(`interval_${r.interval}`) })),
      this.figures(cur, prev),
      chartHost,
      h('p', { class: 'muted small-text' }, tx('prevPeriodNote', { from: localDateTime(r.prev.from), to: localDateTime(r.prev.to) })),
      h('p', { class: 'basis-line small-text' }, basisLabel(cur.basis), ` · ${tMaybe('source_', cur.source)}`),
      provisional ? h('p', { class: 'muted small-text', 'data-testid': 'history-provisional' }, tx('provisional')) : null,
      this.downloads(r));
    this.chart?.destroy();
    const rows = this.aligned(long && this.monthly);
    const unit = MEASURE_UNIT[this.measure];
    const chart = new TimeChart(chartHost, {
      unit, height: 200, yLabel: unit, months: long && this.monthly,
      series: [
        { label: `${tx('thisPeriod')} (${unit})`, color: COLORS.blue, points: rows.length < 40 },
        { label: `${tx('prevPeriod')} (${unit})`, color: COLORS.grey, dash: [6, 4], width: 1.5, points: rows.length < 40 },
      ],
    });
    this.chart = chart;
    const m = this.measure;
    chart.setData(rows.map((x) => x.cur.time / 1000), [rows.map((x) => (x.cur.empty ? null : x.cur[m])), rows.map((x) => (x.prev?.empty !== false ? null : x.prev[m]))]);
  }

  /** Both periods on the current one's time axis: the previous period's slot i beside the current one's. */
  private aligned(monthly: boolean): Array<{ cur: Slot; prev: Slot | undefined }> {
    const d = this.data;
    if (!d) return [];
    const prev = slots(d.prev, monthly);
    return slots(d.cur, monthly).map((cur, i) => ({ cur, prev: prev[i] }));
  }

  private figures(cur: EnergySeries, prev: EnergySeries): HTMLTableElement {
    const row = (m: Measure) => {
      const a = total(cur, m);
      const b = total(prev, m);
      const unit = MEASURE_UNIT[m];
      const delta = a - b;
      const rel = b > 0 ? delta / b : null;
      return h('tr', { 'data-measure': m },
        h('td', null, tx(m === 'kwh' ? 'electricityKwh' : 'totalKgce')),
        h('td', { class: 'num big-cell', 'data-testid': `history-total-${m}`, 'data-raw': a }, qty(a, unit)),
        h('td', { class: 'num', 'data-testid': `history-prev-${m}`, 'data-raw': b }, qty(b, unit)),
        h('td', { class: `num ${delta > 0 ? 'up' : delta < 0 ? 'down' : ''}`, 'data-testid': `history-change-${m}`, 'data-raw': delta }, `${delta > 0 ? '+' : ''}${num(delta)} ${unit}`),
        h('td', { class: 'num', 'data-testid': `history-change-pct-${m}`, 'data-raw': rel ?? '' }, rel === null ? '–' : `${rel > 0 ? '+' : ''}${pct(rel)}`));
    };
    return h('table', { class: 'history-figures' },
      h('thead', null, h('tr', null, ...[tx('colMeasure'), tx('thisPeriod'), tx('prevPeriod'), tx('change'), tx('changePct')].map((x, i) => h('th', i ? { class: 'num' } : null, x)))),
      h('tbody', null, row('kwh'), row('kgce')));
  }

  private downloads(r: TimeRange): HTMLElement {
    const { kind, id } = this.target;
    const status = h('span', { class: 'muted small-text', role: 'status', 'data-testid': 'download-status' });
    const stem = `${kind}${kind === 'prefecture' ? '' : `_${fileNamePart(id)}`}_${r.fromDate}_${r.toDate}`;
    const days = Math.round((r.end - r.from) / DAY);
    const tooLong = days > csvMaxDays(kind);
    const where = { scope: kind, id: kind === 'prefecture' ? undefined : id, from: r.fromDate, to: r.toDate };
    // Excel: the same CSV with a byte-order mark and the API's readable name.
    const rollupsButton = (excel: boolean) => h('button', {
      type: 'button', class: 'small', 'data-testid': excel ? 'download-csv-excel' : 'download-csv', disabled: tooLong, title: tooLong ? tx('csvTooLong', { days: csvMaxDays(kind) }) : null,
      onclick: () => {
        status.textContent = tx('downloading');
        const path = `/energy/rollups.csv${qs({ ...where, ...demoQuery(), ...(excel ? { bom: 'true', lang: currentLang() } : {}) })}`;
        (excel ? downloadExport(path) : downloadApiFile(path, `energy_${stem}.csv`)).then(
          () => { status.textContent = ''; },
          (err: unknown) => { status.textContent = tx('downloadFailed', { message: err instanceof Error ? err.message : String(err) }); });
      },
    }, excel ? 'Excel' : tx('downloadCsv'));
    const csvButton = h('span', null, rollupsButton(false), ' ', rollupsButton(true));
    const summary = exportButtons('/energy/summary.csv', () => ({ ...where, basis: this.basis, ...demoQuery() }), 'energy-summary', { zh: '能耗汇总（按企业）', en: 'Energy summary by firm' });
    const chartButton = h('button', { type: 'button', class: 'small', 'data-testid': 'download-chart', onclick: () => this.saveChartData(`energy-series_${stem}.csv`) }, tx('downloadChart'));
    return h('div', { class: 'downloads' }, csvButton, ' ', chartButton, ' ', summary, ' ', tooLong ? h('span', { class: 'muted small-text' }, tx('csvTooLong', { days: csvMaxDays(kind) })) : null, status);
  }

  /** What the chart shows, both periods and both measures, one interval (or month) a row. */
  private saveChartData(fileName: string): void {
    const d = this.data;
    if (!d) return;
    const basis = d.cur.basis.id;
    const header = ['interval_start', 'electricity_kwh', `total_kgce_${basis}`, 'previous_interval_start', 'previous_electricity_kwh', `previous_total_kgce_${basis}`];
    const figures = (x: Slot | undefined) => (x && !x.empty ? [x.kwh, x.kgce] : ['', '']);
    const rows = this.aligned(d.range.end - d.range.from > MONTHLY_FROM && this.monthly).map((x) => [
      localDateTime(x.cur.time), ...figures(x.cur), x.prev ? localDateTime(x.prev.time) : '', ...figures(x.prev),
    ]);
    saveBlob(csvBlob(header, rows), fileName);
  }
}
