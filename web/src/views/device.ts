// Device view: live values, a chart per metric (the last hour from the telemetry endpoint, then extended from
// socket.io 'live' events without reload), the state timeline and the device's alarms.
import { ApiError, catalogue, get, qs } from '../api.ts';
import { COLORS, TimeChart } from '../charts.ts';
import { AlarmList, STATE_COLORS, card, kv, link, load, setStatePill, statePill, table, td } from '../components.ts';
import { clear, h } from '../dom.ts';
import { ago, duration, num, pct, qty, shanghaiDayStart, time, unitLabel } from '../format.ts';
import { pick, t, tMaybe } from '../i18n.ts';
import { feed } from '../live.ts';
import type { Alarm, Device, DeviceStatus, Firm, LiveDevice, MetricSpec, MonitoringOverview, StateKey, StatesReport, TelemetrySeries } from '../types.ts';
import { STATES } from '../types.ts';
import type { ViewContext } from './context.ts';
import { notFound } from './notfound.ts';

const HOUR = 3_600_000;

interface Segment { state: string; from: number; to: number }

export async function mountDevice(root: HTMLElement, ctx: ViewContext, deviceId: string): Promise<void> {
  const { scope } = ctx;
  let device: Device;
  try {
    device = await get<Device>(`/devices/${encodeURIComponent(deviceId)}`);
  } catch (err) {
    if (!scope.alive) return;
    if (err instanceof ApiError && (err.status === 404 || err.status === 400 || err.status === 403)) {
      notFound(root, t('notFoundDevice'));
      return;
    }
    throw err;
  }
  const cat = await catalogue();
  if (!scope.alive) return;
  const spec = cat.deviceTypes.find((d) => d.type === device.type);
  const metrics: MetricSpec[] = spec?.metrics ?? [];
  const charted = metrics.filter((m) => !m.counter);

  // ---- head ----------------------------------------------------------------------------------------------
  const firmLink = h('span', null, device.firmId);
  const state = statePill(feed.latest.get(device.id)?.state ?? null);
  const onlinePill = h('span', { class: `pill ${device.online ? 'on' : 'off'}` }, device.online ? t('online') : t('offline'));
  const statusBox = h('div', { class: 'status' });
  root.append(h('div', { class: 'grid' },
    h('section', { class: 'card full device-head', 'data-device': device.id },
      h('div', null,
        h('h1', { class: 'page-title', 'data-testid': 'device-name' }, device.name, ' ', onlinePill, ' ', state),
        h('p', { class: 'muted' }, `${device.id} · ${spec ? pick(spec) : device.type}${device.location ? ` · ${device.location}` : ''} · `, h('span', null, `${t('firmLabel')}：`), firmLink)),
      statusBox)));
  const grid = root.querySelector('.grid') as HTMLElement;
  void get<Firm>(`/firms/${encodeURIComponent(device.firmId)}`).then((f) => { clear(firmLink, link(`#/firm/${encodeURIComponent(f.id)}`, f.name)); }, () => {});

  const liveCard = card(t('deviceLive'), { id: 'device-live' });
  const chartsCard = card(t('deviceCharts'), { id: 'device-charts', full: true });
  const statesCard = card(t('stateTimeline'), { id: 'device-states', wide: true });
  const alarmsCard = card(t('deviceAlarms'), { id: 'device-alarms', full: true });
  grid.append(liveCard.el, statesCard.el, chartsCard.el, alarmsCard.el);

  // ---- live values ---------------------------------------------------------------------------------------
  const cells = new Map<string, { value: HTMLElement; at: HTMLElement }>();
  clear(liveCard.body, table([t('colMetric'), { text: t('colValue'), num: true }, t('colUpdated')], metrics.map((m) => {
    const value = td('–', true, { 'data-metric': m.name });
    const at = td('–');
    cells.set(m.name, { value, at });
    return h('tr', null, td(h('span', { title: m.name }, pick(m))), value, at);
  }), { class: 'live-values' }));
  const showValues = (d: LiveDevice) => {
    for (const [name, v] of Object.entries(d.metrics)) {
      const c = cells.get(name);
      const m = metrics.find((x) => x.name === name);
      if (!c || !m) continue;
      const changed = c.value.dataset.raw !== undefined && c.value.dataset.raw !== String(v);
      c.value.textContent = qty(v, m.unit);
      c.value.dataset.raw = String(v);
      c.value.dataset.ts = String(d.ts);
      if (changed) {
        c.value.classList.remove('flash');
        void c.value.offsetWidth;
        c.value.classList.add('flash');
      }
      c.at.textContent = time(d.ts);
    }
    if (d.state) setStatePill(state, d.state);
    onlinePill.className = 'pill on';
    onlinePill.textContent = t('online');
  };
  const initial = feed.latest.get(device.id);
  if (initial) showValues(initial);

  // ---- charts: history, then live ------------------------------------------------------------------------
  const charts = new Map<string, { chart: TimeChart; pending: Array<[number, number]>; loaded: boolean }>();
  const chartGrid = h('div', { class: 'charts' });
  clear(chartsCard.body, chartGrid);
  charted.forEach((m, i) => {
    const host = h('div', { class: 'chart' });
    const unit = unitLabel(m.unit);
    chartGrid.append(h('figure', { class: 'metric-chart', 'data-chart': m.name }, h('figcaption', null, `${pick(m)}${unit ? ` (${unit})` : ''}`), host));
    const chart = scope.chart(new TimeChart(host, {
      unit: m.unit, height: 160, windowSec: 3600,
      series: [{ label: pick(m), color: COLORS.series[i % COLORS.series.length] ?? COLORS.blue, stepped: m.unit === 'code' }],
    }));
    charts.set(m.name, { chart, pending: [], loaded: false });
  });
  const loadHistory = () => {
    const to = Date.now();
    for (const [name, c] of charts) {
      c.loaded = false;
      get<TelemetrySeries>(`/devices/${encodeURIComponent(device.id)}/telemetry${qs({ metric: name, from: to - HOUR, to })}`).then((s) => {
        if (!scope.alive) return;
        c.chart.setData(s.points.map((p) => p.ts / 1000), [s.points.map((p) => p.value)]);
        c.loaded = true;
        for (const [x, v] of c.pending) c.chart.push(x, [v]);
        c.pending = [];
      }, () => { c.loaded = true; });
    }
  };
  const pushLive = (d: LiveDevice) => {
    for (const [name, c] of charts) {
      const v = d.metrics[name];
      if (v === undefined) continue;
      if (c.loaded) c.chart.push(d.ts / 1000, [v]);
      else c.pending.push([d.ts / 1000, v]);
    }
  };

  // ---- state timeline: live strip since the page opened, and today's time per state by shift -------------
  const opened = Date.now();
  const segments: Segment[] = [];
  const strip = h('div', { class: 'state-strip', 'data-testid': 'state-strip' });
  const stripAxis = h('div', { class: 'strip-axis muted small-text' });
  const shiftBox = h('div', { class: 'by-shift' }, h('p', { class: 'muted' }, t('loading')));
  const legend = h('div', { class: 'legend' }, ...STATES.map((s) => h('span', { class: 'legend-item' }, h('i', { style: `background:${STATE_COLORS[s]}` }), tMaybe('state_', s))));
  clear(statesCard.body, h('h3', null, t('stateLive')), strip, stripAxis, legend, h('h3', null, t('stateByShift')), shiftBox);
  const noteState = (s: string, at: number) => {
    const last = segments[segments.length - 1];
    if (last && last.state === s) return;
    if (last) last.to = at;
    segments.push({ state: s, from: last ? at : opened, to: Number.POSITIVE_INFINITY });
  };
  const renderStrip = () => {
    const now = Date.now();
    const start = Math.max(opened, now - HOUR);
    const span = Math.max(1, now - start);
    strip.replaceChildren(...segments.filter((s) => Math.min(s.to, now) > start).map((s) => {
      const from = Math.max(s.from, start);
      const to = Math.min(s.to, now);
      const key = (STATES as readonly string[]).includes(s.state) ? (s.state as StateKey) : 'unknown';
      return h('div', { class: 'seg', 'data-state': s.state, style: `width:${(((to - from) / span) * 100).toFixed(2)}%;background:${STATE_COLORS[key]}`, title: `${tMaybe('state_', s.state)} ${time(from)}–${time(to)}` });
    }));
    stripAxis.replaceChildren(h('span', null, time(start)), h('span', null, time(now)));
  };
  const renderShifts = (r: StatesReport) => {
    if (r.periods.length === 0) {
      clear(shiftBox, h('p', { class: 'muted' }, t('noData')));
      return;
    }
    clear(shiftBox, ...r.periods.map((p) => {
      const times = p.devices.find((d) => d.deviceId === device.id)?.times ?? p.firm;
      const total = STATES.reduce((n, s) => n + (times[s] ?? 0), 0) || 1;
      return h('div', { class: 'shift-row', 'data-period': p.id },
        h('span', { class: 'shift-label' }, p.id.split('/')[1] ?? p.id),
        h('div', { class: 'stack' }, ...STATES.filter((s) => (times[s] ?? 0) > 0).map((s) => h('div', { class: 'seg', style: `width:${(((times[s] ?? 0) / total) * 100).toFixed(2)}%;background:${STATE_COLORS[s]}`, title: `${tMaybe('state_', s)} ${duration(times[s] ?? 0)} (${pct((times[s] ?? 0) / total, 0)})` }))),
        h('span', { class: 'shift-run muted small-text' }, `${tMaybe('state_', 'running')} ${pct((times.running ?? 0) / total, 0)}`));
    }));
  };
  void get<MonitoringOverview>(`/monitoring/overview${qs({ scope: 'device', id: device.id })}`).then((o) => {
    if (!scope.alive || segments.length > 0) return;
    const current = Object.entries(o.states).find(([k, n]) => k !== 'unknown' && n > 0)?.[0];
    if (current) {
      noteState(current, opened);
      setStatePill(state, current);
      renderStrip();
    }
  }, () => {});
  if (initial?.state) noteState(initial.state, opened);

  // ---- connection status ---------------------------------------------------------------------------------
  const renderStatus = (s: DeviceStatus) => {
    clear(statusBox, kv([
      [t('colLastSeen'), h('span', { 'data-ts': String(s.lastSeenAt ?? 0), class: 'seen' }, ago(s.lastSeenAt))],
      [t('completeness'), s.completeness.ratio === null ? '–' : `${pct(s.completeness.ratio)} (${num(s.completeness.received, 0)}/${num(s.completeness.expected, 0)})`],
      [t('todayAccepted'), num(s.today.accepted, 0)],
      [t('todayRejected'), num(s.today.rejected, 0)],
      [t('clockSkew'), s.clockSkewMs === null ? '–' : qty(s.clockSkewMs / 1000, 's', 1)],
    ]));
  };

  // ---- alarms ----------------------------------------------------------------------------------------------
  const alarmList = new AlarmList((a) => a.deviceId === device.id, true);
  scope.add(feed.alarm.on((ev) => alarmList.apply(ev)));

  scope.add(feed.live.on((summary) => {
    const d = summary.devices.find((x) => x.deviceId === device.id);
    if (!d) return;
    showValues(d);
    pushLive(d);
    if (d.state) noteState(d.state, d.ts);
    const seen = statusBox.querySelector<HTMLElement>('.seen');
    if (seen) seen.dataset.ts = String(d.ts);
  }));
  scope.every(1000, () => {
    renderStrip();
    const seen = statusBox.querySelector<HTMLElement>('.seen');
    if (seen) seen.textContent = ago(Number(seen.dataset.ts) || null);
  });

  const loadAll = () => {
    void load(scope, statusBox, () => get<DeviceStatus>(`/devices/${encodeURIComponent(device.id)}/status`), renderStatus);
    void load(scope, shiftBox, () => get<StatesReport>(`/monitoring/states${qs({ deviceId: device.id, by: 'shift', from: Math.min(shanghaiDayStart(), Date.now() - 60_000), to: Date.now() })}`), renderShifts);
    void load(scope, alarmsCard.body, () => get<Alarm[]>(`/alarms${qs({ deviceId: device.id, status: 'all', limit: 20 })}`), (list) => { alarmList.set(list); clear(alarmsCard.body, alarmList.el); });
  };
  loadAll();
  loadHistory();
  renderStrip();
  scope.every(60_000, loadAll);
  scope.add(feed.resync.on(() => { loadAll(); loadHistory(); }));
}
