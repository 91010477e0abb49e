// Bureau overview (工信局): connected share of above-scale firms against 50% with trend and projection, the
// action plan's targets (demo firms counted only when switched on), the per-mu ranking with energy coverage, live power (socket.io room aggregates) and today's energy in kWh and tce with the basis, county and park
// breakdown (linked to the county and park pages), the energy history over a picked range against the previous
// period, top energy users, intensity outliers, open alarms and the firm directory. Each card's content is
// drawn by its own module under overview/; this file lays the cards out and loads them.
import { get, places, qs } from '../api.ts';
import { AlarmList, card, load, type Card } from '../components.ts';
import { clear, h } from '../dom.ts';
import { pick, t } from '../i18n.ts';
import { feed } from '../live.ts';
import { firmMap } from '../session.ts';
import type { Alarm, EnergyLive, EnergySummary, Firm, Intensity, PlanTargets } from '../types.ts';
import { basisChoice, basisSwitch } from './basis.ts';
import type { ViewContext } from './context.ts';
import { EnergyHistory } from './history/energy-history.ts';
import { ENERGY_PRESETS, RangePicker } from './history/range-picker.ts';
import { Breakdown } from './overview/breakdown.ts';
import { FirmDirectory, renderPlan } from './overview/directory.ts';
import { EnergyPanel, renderOutliers, renderToday, renderTopUsers } from './overview/energy.ts';
import { connectedShare, renderKpi } from './overview/kpi.ts';
import { demoQuery, demoToggle, officialCountForm, renderPerMu, type PerMu } from './overview/plan-view.ts';
import { alarmHistoryExport, exportButtons } from '../download.ts';

interface OverviewCards { kpi: Card; energy: Card; plan: Card; perMu: Card; breakdown: Card; top: Card; outliers: Card; alarms: Card; firms: Card }

function layOut(root: HTMLElement, history: HTMLElement): OverviewCards {
  const c: OverviewCards = {
    kpi: card(t('kpiTitle'), { id: 'kpi' }),
    energy: card(t('energyTitle'), { id: 'energy' }),
    plan: card(t('planTitle', { year: new Date().getFullYear() }), { id: 'plan' }),
    perMu: card(pick({ zh: '亩均论英雄', en: 'Per-mu evaluation (亩均论英雄)' }), { id: 'per-mu' }),
    breakdown: card(t('breakdownTitle'), { id: 'breakdown' }),
    top: card(t('topUsersTitle'), { id: 'top-users' }),
    outliers: card(t('intensityTitle'), { id: 'outliers' }),
    alarms: card(t('alarmsTitle'), { id: 'alarms' }),
    firms: card(t('firmsTitle'), { id: 'firms' }),
  };
  // Main column (KPI; plan targets beside breakdown, outliers and firms) and a side column (energy, top users,
  // alarms); on a phone the wrappers dissolve and the cards stack in the order of their CSS 'order'.
  root.append(h('div', { class: 'overview' },
    h('div', { class: 'col-main' }, c.kpi.el, history, h('div', { class: 'pair' }, h('div', { class: 'ov-stack' }, c.plan.el), h('div', { class: 'ov-stack' }, c.breakdown.el, c.outliers.el, c.firms.el)), c.perMu.el),
    h('div', { class: 'col-side' }, c.energy.el, c.top.el, c.alarms.el)));
  return c;
}

export function mountOverview(root: HTMLElement, ctx: ViewContext): void {
  const { scope } = ctx;
  const basis = basisChoice();
  const picker = new RangePicker(ENERGY_PRESETS, 'today');
  const history = new EnergyHistory({ kind: 'prefecture', id: '' }, basis, scope, picker, () => ctx.remount());
  history.card.extra.prepend(picker.el);
  const cards = layOut(root, history.card.el);
  cards.energy.extra.append(basisSwitch(() => ctx.remount()));
  cards.kpi.extra.append(demoToggle(() => ctx.remount()));
  cards.plan.extra.append(exportButtons('/plan/targets.csv', () => ({ ...demoQuery() }), 'plan', { zh: '计划跟踪', en: 'Plan tracker' }));
  cards.alarms.extra.append(alarmHistoryExport());
  let firms = new Map<string, Firm>();
  let placeNames = new Map<string, string>();
  const energy = new EnergyPanel(cards.energy.body, scope);
  const breakdown = new Breakdown(cards.breakdown.body, scope);
  const directory = new FirmDirectory(cards.firms.body);
  const alarmList = new AlarmList(() => true);
  scope.add(feed.alarm.on((ev) => alarmList.apply(ev)));

  const summary = (by: string) => () => get<EnergySummary>(`/energy/summary${qs({ by, basis, ...demoQuery() })}`);
  const tceByKey = (s: EnergySummary) => new Map(s.breakdown.map((b) => [b.key, b.totalTce]));
  const loadAll = () => {
    void load(scope, cards.kpi.body, () => Promise.all([connectedShare(), places()]), ([k, pl]) => {
      renderKpi(cards.kpi.body, scope, k, k.official ? officialCountForm(pl, k.official.year, () => ctx.remount()) : null);
      breakdown.share = k;
      breakdown.render();
    });
    void load(scope, cards.plan.body, () => get<PlanTargets>(`/plan/targets${qs(demoQuery())}`), (p) => renderPlan(cards.plan, p));
    void load(scope, cards.perMu.body, () => get<PerMu>(`/plan/per-mu${qs(demoQuery())}`), (p) => renderPerMu(cards.perMu.body, p, firms, (code) => placeNames.get(code) ?? code));
    void load(scope, energy.todayBox, summary('county'), (s) => { renderToday(energy.todayBox, s); breakdown.countyTce = tceByKey(s); breakdown.render(); });
    void load(scope, cards.breakdown.body, summary('park'), (s) => { breakdown.parkTce = tceByKey(s); breakdown.render(); });
    void load(scope, cards.top.body, summary('firm'), (s) => renderTopUsers(cards.top.body, s, firms));
    void load(scope, cards.outliers.body, () => get<Intensity>(`/energy/intensity${qs({ basis, ...demoQuery() })}`), (x) => renderOutliers(cards.outliers.body, x, firms));
    void load(scope, cards.alarms.body, () => get<Alarm[]>('/alarms?status=open&limit=100'), (list) => { alarmList.set(list); clear(cards.alarms.body, alarmList.el); });
    void get<EnergyLive>(`/energy/live${qs({ basis })}`).then((l) => { if (scope.alive) energy.setServerPower(l); }, () => {});
  };
  void Promise.all([firmMap(), places()]).then(([f, p]) => {
    if (!scope.alive) return;
    firms = f;
    placeNames = new Map(p.counties.map((c) => [c.code, pick(c)]));
    alarmList.firms = f;
    directory.show(f, p);
    breakdown.places = p;
    breakdown.render();
    alarmList.render();
  }, (err: unknown) => { if (scope.alive) clear(cards.firms.body, h('p', { class: 'error' }, String(err))); });
  loadAll();
  scope.every(60_000, loadAll);
  scope.add(feed.resync.on(loadAll));
}
