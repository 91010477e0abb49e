// The overview's headline KPI: the connected share of above-scale firms as a gauge against the target (registered
// firms), the share against the statistics bureau's count beside it, whether demo firms were counted, the
// monthly trend and the projection to the target year.
import { ApiError, get, qs } from '../../api.ts';
import { COLORS, TimeChart, monthStartSec } from '../../charts.ts';
import { gauge, type Scope } from '../../components.ts';
import { clear, h, type Child } from '../../dom.ts';
import { pct } from '../../format.ts';
import { t } from '../../i18n.ts';
import type { ConnectedShare, KpiPlatformConnection } from '../../types.ts';
import { demoNote, demoQuery, officialLine, type DemoFields, type OfficialShare } from './plan-view.ts';

/** The plan tracker's answer: the registered share with the official one and the demo choice. */
export type PlanShare = ConnectedShare & DemoFields & { official?: OfficialShare };

export async function connectedShare(): Promise<PlanShare> {
  try {
    return await get<PlanShare>(`/plan/connected-share${qs(demoQuery())}`);
  } catch (err) {
    // Without the plan tracker, the headline KPI alone.
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const k = await get<KpiPlatformConnection & DemoFields>(`/kpi/platform-connection${qs(demoQuery())}`);
    return { ...k, byCounty: k.byCounty.map((c) => ({ id: c.county, name: c.name, aboveScaleFirms: c.aboveScaleFirms, connected: c.connected, share: c.share })) };
  }
}

/** Fills the KPI card's body: gauge and figures (with the form entering official counts, when given), the trend chart and the projection. */
export function renderKpi(body: HTMLElement, scope: Scope, k: PlanShare, officialEntry: Child = null): void {
  const countyName = (code: string) => k.byCounty.find((c) => c.id === code)?.name ?? code;
  const gaugeBox = h('div', { class: 'kpi-gauge' }, gauge(k.share, k.target),
    h('p', { class: 'kpi-detail', 'data-testid': 'kpi-detail', title: k.definition }, t('kpiDetail', { connected: k.connected, total: k.aboveScaleFirms })),
    officialLine(k.official, countyName),
    officialEntry,
    demoNote(k),
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
  clear(body, h('div', { class: 'kpi' }, gaugeBox, trendBox));
  renderTrend(chartHost, scope, k);
}

function renderTrend(host: HTMLElement, scope: Scope, k: ConnectedShare): void {
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
}

function monthOf(ts: number): string {
  const d = new Date(ts + 8 * 3_600_000);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}
