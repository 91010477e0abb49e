// The overview's energy: live power of the whole prefecture (socket.io room 'all', the REST figure until its first
// aggregate), today's energy in kWh and tce per carrier, the top energy users and the intensity outliers.
import { TimeChart, COLORS } from '../../charts.ts';
import { basisLabel, link, renderStates, showAggregate, table, td, type Scope } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { qty } from '../../format.ts';
import { t, tMaybe } from '../../i18n.ts';
import { feed } from '../../live.ts';
import type { EnergyLive, EnergySummary, Firm, Intensity, RoomAggregate } from '../../types.ts';
import { CARRIERS } from '../../types.ts';
import { demoNote, type DemoFields } from './plan-view.ts';

/** The energy card's body: the live power panel and chart, and a box for today's figures. */
export class EnergyPanel {
  readonly todayBox = h('div', { class: 'today' }, h('p', { class: 'muted' }, t('loading')));
  private readonly power = h('div', { class: 'big', 'data-testid': 'live-power' }, '–');
  private readonly note = h('p', { class: 'muted small-text' });
  private readonly states = h('div', { class: 'live-states', 'data-testid': 'live-states' });
  private serverPower: EnergyLive | undefined;
  private aggregate: RoomAggregate | undefined;

  constructor(body: HTMLElement, scope: Scope) {
    const chartHost = h('div', { class: 'chart' });
    clear(body,
      h('div', { class: 'live-power' }, h('div', { class: 'label' }, t('livePower')), this.power, this.note, this.states),
      h('h3', null, t('powerTrend')), chartHost,
      h('h3', null, t('todayEnergy')), this.todayBox);
    const chart = scope.chart(new TimeChart(chartHost, { unit: 'kW', height: 120, windowSec: 600, series: [{ label: t('livePower'), color: COLORS.teal }] }));
    scope.add(feed.follow('all', (a) => {
      this.aggregate = a;
      this.update();
      chart.push(Math.floor(a.at / 1000), [a.rates.electricity]);
    }));
  }

  /** The REST figure (/energy/live), shown until the room's first aggregate arrives. */
  setServerPower(l: EnergyLive): void {
    this.serverPower = l;
    this.update();
  }

  private update(): void {
    if (this.aggregate) {
      showAggregate(this.power, this.aggregate);
      this.note.textContent = t('livePowerNote', { n: this.aggregate.reporting });
      renderStates(this.states, this.aggregate);
    } else if (this.serverPower) {
      this.power.textContent = qty(this.serverPower.carriers.electricity.measured, 'kW');
      this.power.dataset.source = 'rest';
      this.note.textContent = t('livePowerNote', { n: this.serverPower.devices });
    }
  }
}

export function renderToday(box: HTMLElement, s: EnergySummary): void {
  const rows = CARRIERS.map((c) => {
    const f = s.carriers[c];
    return h('tr', { 'data-carrier': c }, td(tMaybe('carrier_', c)), td(qty(f.counted, f.unit), true), td(qty(f.kgce / 1000, 'tce', 3), true));
  });
  clear(box,
    h('div', { class: 'today-figures' },
      h('div', null, h('div', { class: 'label' }, t('todayElectricity')), h('div', { class: 'big', 'data-testid': 'today-kwh' }, qty(s.carriers.electricity.counted, 'kWh'))),
      h('div', null, h('div', { class: 'label' }, t('todayTotal')), h('div', { class: 'big', 'data-testid': 'today-tce' }, qty(s.totalTce, 'tce', 3)))),
    h('p', { class: 'basis-line' }, `${t('basis')}：`, basisLabel(s.basis)),
    table([t('colType'), { text: t('counted'), num: true }, { text: 'tce', num: true }], rows),
    h('p', { class: 'muted small-text' }, `${tMaybe('source_', s.source)}${s.basis.includesWater ? '' : ` · ${t('waterNotInTotal')}`}`));
}

function firmLink(id: string, fallback: string, firms: Map<string, Firm>): HTMLAnchorElement {
  return link(`#/firm/${encodeURIComponent(id)}`, firms.get(id)?.name ?? fallback);
}

/** A ranking of firms says whether demo firms are in it (the API leaves them out unless the toggle asks). */
export function renderTopUsers(body: HTMLElement, s: EnergySummary & DemoFields, firms: Map<string, Firm>): void {
  const list = [...s.breakdown].sort((a, b) => b.totalKgce - a.totalKgce).slice(0, 10).filter((b) => b.totalKgce > 0 || b.carriers.electricity.counted > 0);
  if (list.length === 0) {
    clear(body, h('p', { class: 'muted' }, t('noData')), h('p', { class: 'muted small-text' }, tMaybe('source_', s.source)), demoNote(s));
    return;
  }
  clear(body,
    demoNote(s),
    table([t('colFirm'), { text: t('colElectricity'), num: true }, { text: t('colTotal'), num: true }], list.map((b) => h('tr', { 'data-firm': b.key },
      td(firmLink(b.key, b.name, firms)), td(qty(b.carriers.electricity.counted, 'kWh'), true), td(qty(b.totalTce, 'tce', 3), true)))),
    h('p', { class: 'basis-line small-text' }, basisLabel(s.basis), ` · ${tMaybe('source_', s.source)}`));
}

export function renderOutliers(body: HTMLElement, x: Intensity & DemoFields, firms: Map<string, Firm>): void {
  const b = x.benchmarks;
  const rows: HTMLTableRowElement[] = [];
  for (const r of x.rows) {
    const name = td(firmLink(r.key, r.name, firms));
    if (r.dyeingBenchmark.applies && r.dyeingBenchmark.kgceOk === false) rows.push(h('tr', null, name, td(t('ind_kgcePer100m')), td(qty(r.kgcePer100m, 'kgce'), true), td(`≤ ${qty(r.dyeingBenchmark.kgcePer100mMax, 'kgce')}`, true)));
    if (r.dyeingBenchmark.applies && r.dyeingBenchmark.waterOk === false) rows.push(h('tr', null, name.cloneNode(true) as HTMLTableCellElement, td(t('ind_waterTPer100m')), td(qty(r.waterTPer100m, 't'), true), td(`≤ ${qty(r.dyeingBenchmark.waterTPer100mMax, 't')}`, true)));
    if (r.spinningReference && r.spinningReference.ratio > 1.15) rows.push(h('tr', null, name.cloneNode(true) as HTMLTableCellElement, td(t('ind_ringFrameKwhPerKg')), td(qty(r.ringFrameKwhPerKg, 'kWh/kg'), true), td(`≈ ${qty(b.ringSpinningKwhPerKg, 'kWh/kg')}`, true)));
  }
  clear(body,
    demoNote(x),
    rows.length ? table([t('colFirm'), t('colIndicator'), { text: t('colValue'), num: true }, { text: t('colBenchmark'), num: true }], rows) : h('p', { class: 'muted' }, x.rows.length ? t('noOutliers') : t('noData')),
    h('p', { class: 'muted small-text' }, t('intensityHelp', { dyeKgce: b.dyeingKgcePer100m, dyeWater: b.dyeingWaterTPer100m, silkKgce: b.silkKgcePer100m, silkWater: b.silkWaterTPer100m, ring: b.ringSpinningKwhPerKg })),
    h('p', { class: 'basis-line small-text' }, basisLabel(x.basis)));
}
