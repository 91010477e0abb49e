// Device view: breadcrumbs, live values, a chart per metric over a picked range (the last hour by default, from
// the telemetry endpoint, a running range then extended from socket.io 'live' events without reload), the state
// timeline, the device's alarms, its recently rejected messages (live) and how it connects. The cards' content is
// drawn by the modules under device/.
import { catalogue, get, places, qs } from '../api.ts';
import { AlarmList, card, kv, link, load, setStatePill, statePill, type Scope } from '../components.ts';
import { clear, h } from '../dom.ts';
import { ago, num, pct, qty, shanghaiDayStart } from '../format.ts';
import { pick, t } from '../i18n.ts';
import { feed } from '../live.ts';
import type { Alarm, Device, DeviceConnection, DeviceLatest, DeviceStatus, DeviceTypeSpec, Firm, LiveDevice, MonitoringOverview, StatesReport } from '../types.ts';
import { breadcrumbs, firmCrumbs } from './breadcrumbs.ts';
import type { ViewContext } from './context.ts';
import { DEVICE_PRESETS, RangePicker } from './history/range-picker.ts';
import { tx } from './history/texts.ts';
import { MetricCharts } from './device/charts.ts';
import { connectionExamples, connectionFacts } from './device/connection.ts';
import { RecentRejections } from './device/errors.ts';
import { dx } from './device/texts.ts';
import { LiveValues } from './device/live-values.ts';
import { StateTimeline } from './device/states.ts';
import { getOrNotFound } from './notfound.ts';

/** Name, type, place and firm, the online and state pills, and the connection status figures. */
class DeviceHead {
  readonly el: HTMLElement;
  readonly statusBox = h('div', { class: 'status' });
  readonly state: HTMLElement;
  private readonly online: HTMLElement;

  constructor(device: Device, spec: DeviceTypeSpec | undefined, identity: ViewContext['identity']) {
    const firmLink = h('span', null, device.firmId);
    const crumbs = h('div', { class: 'crumbs-box' });
    this.state = statePill(feed.latest.get(device.id)?.state ?? null);
    this.online = h('span', { class: `pill ${device.online ? 'on' : 'off'}` }, device.online ? t('online') : t('offline'));
    this.el = h('section', { class: 'card full device-head', 'data-device': device.id },
      h('div', null,
        crumbs,
        h('h1', { class: 'page-title', 'data-testid': 'device-name' }, device.name, ' ', this.online, ' ', this.state),
        h('p', { class: 'muted' }, `${device.id} · ${spec ? pick(spec) : device.type}${device.location ? ` · ${device.location}` : ''} · `, h('span', null, `${t('firmLabel')}：`), firmLink)),
      this.statusBox);
    void Promise.all([get<Firm>(`/firms/${encodeURIComponent(device.firmId)}`), places()]).then(([f, pl]) => {
      clear(firmLink, link(`#/firm/${encodeURIComponent(f.id)}`, f.name));
      clear(crumbs, breadcrumbs([...firmCrumbs(identity, pl, f), { label: device.name }]));
    }, () => {});
  }

  /** A live message: the device is online, in the state it reports, seen now. */
  showLive(d: LiveDevice): void {
    if (d.state) setStatePill(this.state, d.state);
    this.online.className = 'pill on';
    this.online.textContent = t('online');
  }

  markSeen(ts: number): void {
    const seen = this.statusBox.querySelector<HTMLElement>('.seen');
    if (seen) seen.dataset.ts = String(ts);
  }

  tick(): void {
    const seen = this.statusBox.querySelector<HTMLElement>('.seen');
    if (seen) seen.textContent = ago(Number(seen.dataset.ts) || null);
  }

  renderStatus(s: DeviceStatus): void {
    clear(this.statusBox, kv([
      [t('colLastSeen'), h('span', { 'data-ts': String(s.lastSeenAt ?? 0), class: 'seen' }, ago(s.lastSeenAt))],
      [t('completeness'), s.completeness.ratio === null ? '–' : `${pct(s.completeness.ratio)} (${num(s.completeness.received, 0)}/${num(s.completeness.expected, 0)})`],
      [t('todayAccepted'), num(s.today.accepted, 0)],
      [t('todayRejected'), num(s.today.rejected, 0)],
      [t('clockSkew'), s.clockSkewMs === null ? '–' : qty(s.clockSkewMs / 1000, 's', 1)],
    ]));
  }
}

/** Until the live feed reports a state, the current state from the monitoring overview. */
function seedState(scope: Scope, device: Device, head: DeviceHead, timeline: StateTimeline): void {
  void get<MonitoringOverview>(`/monitoring/overview${qs({ scope: 'device', id: device.id })}`).then((o) => {
    if (!scope.alive || !timeline.empty) return;
    const current = Object.entries(o.states).find(([k, n]) => k !== 'unknown' && n > 0)?.[0];
    if (current) {
      timeline.note(current);
      setStatePill(head.state, current);
      timeline.renderStrip();
    }
  }, () => {});
}

export async function mountDevice(root: HTMLElement, ctx: ViewContext, deviceId: string): Promise<void> {
  const { scope } = ctx;
  const device = await getOrNotFound<Device>(root, scope, `/devices/${encodeURIComponent(deviceId)}`, [404, 400, 403], t('notFoundDevice'));
  if (!device) return;
  const cat = await catalogue();
  if (!scope.alive) return;
  const spec = cat.deviceTypes.find((d) => d.type === device.type);
  const metrics = spec?.metrics ?? [];

  const head = new DeviceHead(device, spec, ctx.identity);
  const liveCard = card(t('deviceLive'), { id: 'device-live' });
  const chartsCard = card(t('deviceCharts'), { id: 'device-charts', full: true });
  const statesCard = card(t('stateTimeline'), { id: 'device-states', wide: true });
  const alarmsCard = card(t('deviceAlarms'), { id: 'device-alarms', full: true });
  const rejectedCard = card(dx('errTitle'), { id: 'device-rejected', full: true });
  const connCard = card(dx('connTitle'), { id: 'device-connection', full: true });
  root.append(h('div', { class: 'grid' }, head.el, liveCard.el, statesCard.el, chartsCard.el, alarmsCard.el, rejectedCard.el, connCard.el));
  new RecentRejections(rejectedCard.body, device, scope).start();
  void load(scope, connCard.body, () => get<DeviceConnection>(`/devices/${encodeURIComponent(device.id)}/connection`),
    (c) => clear(connCard.body, connectionFacts(c), connectionExamples(c, spec)));

  const values = new LiveValues(liveCard.body, metrics);
  const initial = feed.latest.get(device.id);
  if (initial) { values.show(initial); head.showLive(initial); }
  else void get<DeviceLatest>(`/devices/${encodeURIComponent(device.id)}/latest`).then((l) => { if (scope.alive) values.showStored(l.values); }, () => {});
  const charts = new MetricCharts(chartsCard.body, metrics.filter((m) => !m.counter), device.id, scope);
  const picker = new RangePicker(DEVICE_PRESETS, '1h');
  let lastSeen = device.lastSeenAt;
  const timeline = new StateTimeline(statesCard.body, device.id, () => scope.alive, () => lastSeen);
  picker.onChange((r) => { charts.show(r); timeline.show(r); });
  chartsCard.extra.append(picker.el, h('button', { type: 'button', class: 'small', 'data-testid': 'download-chart', onclick: () => charts.save() }, tx('downloadChart')));
  seedState(scope, device, head, timeline);
  if (initial?.state) timeline.note(initial.state);
  const alarmList = new AlarmList((a) => a.deviceId === device.id, true);
  scope.add(feed.alarm.on((ev) => alarmList.apply(ev)));

  scope.add(feed.live.on((summary) => {
    const d = summary.devices.find((x) => x.deviceId === device.id);
    if (!d) return;
    values.show(d);
    head.showLive(d);
    charts.push(d);
    if (d.state) timeline.note(d.state, d.ts);
    head.markSeen(d.ts);
    lastSeen = d.ts;
  }));
  scope.every(1000, () => { timeline.renderStrip(); head.tick(); });

  const loadAll = () => {
    void load(scope, head.statusBox, () => get<DeviceStatus>(`/devices/${encodeURIComponent(device.id)}/status`), (s) => head.renderStatus(s));
    void load(scope, timeline.shiftBox, () => get<StatesReport>(`/monitoring/states${qs({ deviceId: device.id, by: 'shift', from: Math.min(shanghaiDayStart(), Date.now() - 60_000), to: Date.now() })}`), (r) => timeline.renderShifts(r));
    void load(scope, alarmsCard.body, () => get<Alarm[]>(`/alarms${qs({ deviceId: device.id, status: 'all', limit: 20 })}`), (list) => { alarmList.set(list); clear(alarmsCard.body, alarmList.el); });
  };
  loadAll();
  charts.show(picker.range);
  timeline.show(picker.range);
  scope.every(60_000, loadAll);
  scope.add(feed.resync.on(() => { loadAll(); charts.loadHistory(); timeline.show(picker.range); }));
}
