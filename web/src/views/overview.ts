// Bureau overview (工信局): connected share of above-scale firms against 50% with trend and projection, the
// action plan's targets, live power (socket.io room aggregates) and today's energy in kWh and tce with the basis, county and park
// breakdown, top energy users, intensity outliers, open alarms and the firm directory.
import { get, places, qs } from '../api.ts';
import { COLORS, TimeChart, monthStartSec } from '../charts.ts';
import { AlarmList, basisLabel, card, gauge, link, load, progressBar, renderStates, showAggregate, table, td } from '../components.ts';
import { clear, h } from '../dom.ts';
import { money, pct, qty } from '../format.ts';
import { pick, t, tMaybe } from '../i18n.ts';
import { feed } from '../live.ts';
import { firmMap } from '../session.ts';
import type { Alarm, BasisId, ConnectedShare, EnergyLive, EnergySummary, Firm, Intensity, KpiPlatformConnection, PlanTarget, PlanTargets, Places, RoomAggregate } from '../types.ts';
import { CARRIERS } from '../types.ts';
import { ApiError } from '../api.ts';
import type { ViewContext } from './context.ts';

export function basisChoice(): BasisId {
  return localStorage.getItem('basis') === 'primary' ? 'primary' : 'calorific';
}

/** The 当量值 / 等价值 switch; the choice is remembered. */
export function basisSwitch(onChange: () => void): HTMLElement {
  const current = basisChoice();
  const mk = (id: BasisId) => h('button', {
    type: 'button', class: `seg${current === id ? ' on' : ''}`, 'aria-pressed': current === id ? 'true' : 'false', 'data-basis-choice': id,
    onclick: () => { localStorage.setItem('basis', id); onChange(); },
  }, t(id === 'calorific' ? 'basis_calorific' : 'basis_primary'));
  return h('div', { class: 'segmented', role: 'group', 'aria-label': t('basis') }, mk('calorific'), mk('primary'));
}

async function connectedShare(): Promise<ConnectedShare> {
  try {
    return await get<ConnectedShare>('/plan/connected-share');
  } catch (err) {
    // Without the plan tracker, the headline KPI alone.
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const k = await get<KpiPlatformConnection>('/kpi/platform-connection');
    return { ...k, byCounty: k.byCounty.map((c) => ({ id: c.county, name: c.name, aboveScaleFirms: c.aboveScaleFirms, connected: c.connected, share: c.share })) };
  }
}

export function mountOverview(root: HTMLElement, ctx: ViewContext): void {
  const { scope } = ctx;
  const kpi = card(t('kpiTitle'), { id: 'kpi' });
  const energy = card(t('energyTitle'), { id: 'energy' });
  const plan = card(t('planTitle', { year: new Date().getFullYear() }), { id: 'plan' });
  const breakdown = card(t('breakdownTitle'), { id: 'breakdown' });
  const top = card(t('topUsersTitle'), { id: 'top-users' });
  const outliers = card(t('intensityTitle'), { id: 'outliers' });
  const alarms = card(t('alarmsTitle'), { id: 'alarms' });
  const firmsCard = card(t('firmsTitle'), { id: 'firms' });
  // Main column (KPI; plan targets beside breakdown, outliers and firms) and a side column (energy, top users,
  // alarms); on a phone the wrappers dissolve and the cards stack in the order of their CSS 'order'.
  root.append(h('div', { class: 'overview' },
    h('div', { class: 'col-main' }, kpi.el, h('div', { class: 'pair' }, h('div', { class: 'ov-stack' }, plan.el), h('div', { class: 'ov-stack' }, breakdown.el, outliers.el, firmsCard.el))),
    h('div', { class: 'col-side' }, energy.el, top.el, alarms.el)));

  let firms = new Map<string, Firm>();
  let pl: Places | undefined;
  let share: ConnectedShare | undefined;
  let byCountyTce = new Map<string, number>();
  let byParkTce = new Map<string, number>();
  const basis = basisChoice();

  energy.extra.append(basisSwitch(() => ctx.remount()));

  // ---- KPI: gauge, figures, trend and projection -------------------------------------------------------
  const renderKpi = (k: ConnectedShare) => {
    share = k;
    const gaugeBox = h('div', { class: 'kpi-gauge' }, gauge(k.share, k.target),
      h('p', { class: 'kpi-detail', 'data-testid': 'kpi-detail' }, t('kpiDetail', { connected: k.connected, total: k.aboveScaleFirms })),
      h('p', { class: 'muted' }, t('kpiGoal', { target: pct(k.target, 0) })),
      h('p', { class: 'muted small-text' }, t('kpiDefinition', { days: k.windowDays })));
    const trendBox = h('div', { class: 'kpi-trend' }, h('h3', null, t('kpiTrend')));
    const chartHost = h('div', { class: 'chart' });
    trendBox.append(chartHost);
    const p = k.projection;
    if (p) {
      const text = p.share === null
        ? t('kpiNoProjection', { reason: /two months/.test(p.reason ?? '') ? t('kpiNeedsMonths') : (p.reason ?? '') })
        : `${t('kpiProjection', { month: p.month, share: pct(p.share) })}（${p.onTrack ? t('kpiOnTrack') : t('kpiOffTrack')}）${p.reachesTargetIn ? ` · ${t('kpiReaches', { month: p.reachesTargetIn })}` : ''}`;
      trendBox.append(h('p', { class: p.onTrack === false ? 'warn' : 'muted', 'data-testid': 'kpi-projection' }, text));
    }
    clear(kpi.body, h('div', { class: 'kpi' }, gaugeBox, trendBox));
    renderTrend(chartHost, k);
    renderBreakdown();
  };

  const renderTrend = (host: HTMLElement, k: ConnectedShare) => {
    const trend = k.trend ?? [{ month: monthOf(k.asOf), share: k.share, connected: k.connected, aboveScaleFirms: k.aboveScaleFirms, current: true }];
    const projMonth = k.projection?.month ?? `${k.targetYear}-12`;
    const months = [...new Set([...trend.map((x) => x.month), projMonth])].sort();
    const xs = months.map(monthStartSec);
    const byMonth = new Map(trend.map((x) => [x.month, x.share]));
    const last = trend[trend.length - 1];
    const actual = months.map((m) => byMonth.get(m) ?? null);
    const target = months.map(() => k.target);
    const proj = months.map((m) => (k.projection?.share !== null && k.projection?.share !== undefined ? (m === projMonth ? k.projection.share : m === last?.month ? last.share : null) : null));
    const chart = scope.chart(new TimeChart(host, {
      unit: '', height: 170, yRange: [0, 1], months: true, format: (v) => pct(v, 0),
      series: [
        { label: t('share'), color: COLORS.blue, points: true, width: 2 },
        { label: t('target'), color: COLORS.red, dash: [6, 4], width: 1.5 },
        { label: t('projection'), color: COLORS.orange, dash: [3, 3], points: true, width: 1.5 },
      ],
    }));
    chart.setData(xs, [actual, target, proj]);
  };

  // ---- plan targets -------------------------------------------------------------------------------------
  const targetValue = (x: PlanTarget, v: number | null) => {
    if (v === null) return t('planNotEntered');
    if (x.unit === 'share') return pct(v);
    if (x.unit === 'yuan') return money(v);
    return qty(v, x.unit);
  };
  const renderPlan = (p: PlanTargets) => {
    plan.title.textContent = t('planTitle', { year: p.year });
    clear(plan.body, h('ul', { class: 'targets' }, ...p.targets.map((x) => h('li', { 'data-target': x.id, title: x.quote },
      h('div', { class: 'target-head' },
        h('span', { class: 'target-name' }, pick(x)),
        h('span', { class: 'target-figure' }, `${targetValue(x, x.value)} / ${targetValue(x, x.target)}`)),
      progressBar(x.progress, x.met),
      h('div', { class: 'target-foot muted small-text' }, `${tMaybe('planSource_', x.valueSource)}${x.progress !== null ? ` · ${pct(x.progress, 0)}` : ''}${x.period === 'per-year' ? ` · ${x.year}` : ''}`)))));
  };

  // ---- energy: live power (socket.io room 'all') and today -----------------------------------------------
  const powerValue = h('div', { class: 'big', 'data-testid': 'live-power' }, '–');
  const powerNote = h('p', { class: 'muted small-text' });
  const statesBox = h('div', { class: 'live-states', 'data-testid': 'live-states' });
  const powerChartHost = h('div', { class: 'chart' });
  const todayBox = h('div', { class: 'today' }, h('p', { class: 'muted' }, t('loading')));
  clear(energy.body,
    h('div', { class: 'live-power' }, h('div', { class: 'label' }, t('livePower')), powerValue, powerNote, statesBox),
    h('h3', null, t('powerTrend')), powerChartHost,
    h('h3', null, t('todayEnergy')), todayBox);
  const powerChart = scope.chart(new TimeChart(powerChartHost, { unit: 'kW', height: 120, windowSec: 600, series: [{ label: t('livePower'), color: COLORS.teal }] }));
  // The REST figure (/energy/live) until the room's first aggregate arrives.
  let serverPower: EnergyLive | undefined;
  let allAgg: RoomAggregate | undefined;
  const updatePower = () => {
    if (allAgg) {
      showAggregate(powerValue, allAgg);
      powerNote.textContent = t('livePowerNote', { n: allAgg.reporting });
      renderStates(statesBox, allAgg);
    } else if (serverPower) {
      powerValue.textContent = qty(serverPower.carriers.electricity.measured, 'kW');
      powerValue.dataset.source = 'rest';
      powerNote.textContent = t('livePowerNote', { n: serverPower.devices });
    }
  };
  scope.add(feed.follow('all', (a) => {
    allAgg = a;
    updatePower();
    powerChart.push(Math.floor(a.at / 1000), [a.rates.electricity]);
  }));

  const renderToday = (s: EnergySummary) => {
    const rows = CARRIERS.map((c) => {
      const f = s.carriers[c];
      return h('tr', { 'data-carrier': c }, td(tMaybe('carrier_', c)), td(qty(f.counted, f.unit), true), td(qty(f.kgce / 1000, 'tce', 3), true));
    });
    clear(todayBox,
      h('div', { class: 'today-figures' },
        h('div', null, h('div', { class: 'label' }, t('todayElectricity')), h('div', { class: 'big', 'data-testid': 'today-kwh' }, qty(s.carriers.electricity.counted, 'kWh'))),
        h('div', null, h('div', { class: 'label' }, t('todayTotal')), h('div', { class: 'big', 'data-testid': 'today-tce' }, qty(s.totalTce, 'tce', 3)))),
      h('p', { class: 'basis-line' }, `${t('basis')}：`, basisLabel(s.basis)),
      table([t('colType'), { text: t('counted'), num: true }, { text: 'tce', num: true }], rows),
      h('p', { class: 'muted small-text' }, `${tMaybe('source_', s.source)}${s.basis.includesWater ? '' : ` · ${t('waterNotInTotal')}`}`));
    byCountyTce = new Map(s.breakdown.map((b) => [b.key, b.totalTce]));
    renderBreakdown();
  };

  // ---- county / park breakdown ---------------------------------------------------------------------------
  const renderBreakdown = () => {
    if (!share || !pl) return;
    const parkRows = new Map<string, typeof share.byPark>();
    for (const p of share.byPark ?? []) parkRows.set(p.county, [...(parkRows.get(p.county) ?? []), p]);
    const rows: HTMLTableRowElement[] = [];
    for (const c of share.byCounty) {
      const county = pl.counties.find((x) => x.code === c.id);
      rows.push(h('tr', { class: 'county', 'data-county': c.id },
        td(county ? pick(county) : c.name), td(c.aboveScaleFirms, true), td(c.connected, true), td(pct(c.share), true),
        td('–', true, { 'data-power-county': c.id, 'data-power-room': `county:${c.id}` }), td(qty(byCountyTce.get(c.id) ?? 0, 'tce', 2), true)));
      for (const p of parkRows.get(c.id) ?? []) {
        const park = pl.parks.find((x) => x.id === p.id);
        rows.push(h('tr', { class: 'park', 'data-park': p.id },
          td(park ? pick(park) : p.name), td(p.aboveScaleFirms, true), td(p.connected, true), td(pct(p.share), true),
          td('–', true, { 'data-power-park': p.id, 'data-power-room': `park:${p.id}` }), td(qty(byParkTce.get(p.id) ?? 0, 'tce', 2), true)));
      }
    }
    clear(breakdown.body, table([t('colCounty'), { text: t('colAboveScale'), num: true }, { text: t('colConnected'), num: true }, { text: t('colShare'), num: true }, { text: t('colLivePower'), num: true }, { text: t('colTodayTce'), num: true }], rows, { class: 'breakdown' }));
    updateBreakdownPower();
  };
  // Each county and park row follows its own live room ('county:<code>', 'park:<id>').
  const placeAggs = new Map<string, RoomAggregate>();
  const placeRooms = new Map<string, () => void>();
  scope.add(() => { for (const stop of placeRooms.values()) stop(); });
  const updateBreakdownPower = () => {
    const wanted = new Set<string>();
    for (const cell of breakdown.body.querySelectorAll<HTMLElement>('[data-power-room]')) {
      const room = cell.dataset.powerRoom ?? '';
      wanted.add(room);
      const a = placeAggs.get(room);
      if (a) showAggregate(cell, a);
    }
    for (const [room, stop] of placeRooms) {
      if (wanted.has(room)) continue;
      stop();
      placeRooms.delete(room);
      placeAggs.delete(room);
    }
    for (const room of wanted) {
      if (placeRooms.has(room)) continue;
      placeRooms.set(room, feed.follow(room, (a) => {
        placeAggs.set(room, a);
        const cell = breakdown.body.querySelector<HTMLElement>(`[data-power-room="${CSS.escape(room)}"]`);
        if (cell) showAggregate(cell, a);
      }));
    }
  };

  // ---- top users and intensity outliers ------------------------------------------------------------------
  const renderTop = (s: EnergySummary) => {
    const list = [...s.breakdown].sort((a, b) => b.totalKgce - a.totalKgce).slice(0, 10).filter((b) => b.totalKgce > 0 || b.carriers.electricity.counted > 0);
    if (list.length === 0) {
      clear(top.body, h('p', { class: 'muted' }, t('noData')), h('p', { class: 'muted small-text' }, tMaybe('source_', s.source)));
      return;
    }
    clear(top.body,
      table([t('colFirm'), { text: t('colElectricity'), num: true }, { text: t('colTotal'), num: true }], list.map((b) => h('tr', { 'data-firm': b.key },
        td(link(`#/firm/${encodeURIComponent(b.key)}`, firms.get(b.key)?.name ?? b.name)), td(qty(b.carriers.electricity.counted, 'kWh'), true), td(qty(b.totalTce, 'tce', 3), true)))),
      h('p', { class: 'basis-line small-text' }, basisLabel(s.basis), ` · ${tMaybe('source_', s.source)}`));
  };

  const renderOutliers = (x: Intensity) => {
    const b = x.benchmarks;
    const rows: HTMLTableRowElement[] = [];
    for (const r of x.rows) {
      const name = td(link(`#/firm/${encodeURIComponent(r.key)}`, firms.get(r.key)?.name ?? r.name));
      if (r.dyeingBenchmark.applies && r.dyeingBenchmark.kgceOk === false) rows.push(h('tr', null, name, td(t('ind_kgcePer100m')), td(qty(r.kgcePer100m, 'kgce'), true), td(`≤ ${qty(b.dyeingKgcePer100m, 'kgce')}`, true)));
      if (r.dyeingBenchmark.applies && r.dyeingBenchmark.waterOk === false) rows.push(h('tr', null, name.cloneNode(true) as HTMLTableCellElement, td(t('ind_waterTPer100m')), td(qty(r.waterTPer100m, 't'), true), td(`≤ ${qty(b.dyeingWaterTPer100m, 't')}`, true)));
      if (r.spinningReference && r.spinningReference.ratio > 1.15) rows.push(h('tr', null, name.cloneNode(true) as HTMLTableCellElement, td(t('ind_ringFrameKwhPerKg')), td(qty(r.ringFrameKwhPerKg, 'kWh/kg'), true), td(`≈ ${qty(b.ringSpinningKwhPerKg, 'kWh/kg')}`, true)));
    }
    clear(outliers.body,
      rows.length ? table([t('colFirm'), t('colIndicator'), { text: t('colValue'), num: true }, { text: t('colBenchmark'), num: true }], rows) : h('p', { class: 'muted' }, x.rows.length ? t('noOutliers') : t('noData')),
      h('p', { class: 'muted small-text' }, t('intensityHelp', { dyeKgce: b.dyeingKgcePer100m, dyeWater: b.dyeingWaterTPer100m, ring: b.ringSpinningKwhPerKg })),
      h('p', { class: 'basis-line small-text' }, basisLabel(x.basis)));
  };

  // ---- alarms and firms ----------------------------------------------------------------------------------
  const alarmList = new AlarmList(() => true);
  scope.add(feed.alarm.on((ev) => alarmList.apply(ev)));

  const firmFilter = h('input', { type: 'search', placeholder: t('filterFirms'), 'aria-label': t('filterFirms') });
  const firmTableBox = h('div', { class: 'scroll' });
  const renderFirms = () => {
    if (!pl) return;
    const q = firmFilter.value.trim().toLowerCase();
    const list = [...firms.values()].filter((f) => !q || f.name.toLowerCase().includes(q) || f.id.toLowerCase().includes(q)).sort((a, b) => a.county.localeCompare(b.county) || a.name.localeCompare(b.name, 'zh-CN'));
    const places = pl;
    clear(firmTableBox, table([t('colFirm'), t('colCountyOnly'), t('colSegment')], list.map((f) => {
      const county = places.counties.find((c) => c.code === f.county);
      const seg = places.segments.find((s) => s.id === f.segment);
      return h('tr', { 'data-firm': f.id },
        td(h('span', null, link(`#/firm/${encodeURIComponent(f.id)}`, f.name), f.aboveScale ? h('span', { class: 'tag' }, t('aboveScale')) : null, f.demo ? h('span', { class: 'tag demo' }, t('demo')) : null)),
        td(county ? pick(county) : f.county), td(seg ? pick(seg) : f.segment));
    })));
  };
  firmFilter.addEventListener('input', renderFirms);

  // ---- loading ---------------------------------------------------------------------------------------------
  const loadAll = () => {
    void load(scope, kpi.body, connectedShare, renderKpi);
    void load(scope, plan.body, () => get<PlanTargets>('/plan/targets'), renderPlan);
    void load(scope, todayBox, () => get<EnergySummary>(`/energy/summary${qs({ by: 'county', basis })}`), renderToday);
    void load(scope, breakdown.body, () => get<EnergySummary>(`/energy/summary${qs({ by: 'park', basis })}`), (s) => { byParkTce = new Map(s.breakdown.map((b) => [b.key, b.totalTce])); renderBreakdown(); });
    void load(scope, top.body, () => get<EnergySummary>(`/energy/summary${qs({ by: 'firm', basis })}`), renderTop);
    void load(scope, outliers.body, () => get<Intensity>(`/energy/intensity${qs({ basis })}`), renderOutliers);
    void load(scope, alarms.body, () => get<Alarm[]>('/alarms?status=open&limit=100'), (list) => { alarmList.set(list); clear(alarms.body, alarmList.el); });
    void get<EnergyLive>(`/energy/live${qs({ basis })}`).then((l) => { serverPower = l; if (scope.alive) updatePower(); }, () => {});
  };
  void Promise.all([firmMap(), places()]).then(([f, p]) => {
    if (!scope.alive) return;
    firms = f;
    pl = p;
    alarmList.firms = f;
    clear(firmsCard.body, firmFilter, firmTableBox);
    renderFirms();
    renderBreakdown();
    alarmList.render();
  }, (err: unknown) => { if (scope.alive) clear(firmsCard.body, h('p', { class: 'error' }, String(err))); });
  loadAll();
  scope.every(60_000, loadAll);
  scope.add(feed.resync.on(loadAll));
}

function monthOf(ts: number): string {
  const d = new Date(ts + 8 * 3_600_000);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}
