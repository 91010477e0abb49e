// Firm view: live power and devices per state (socket.io room 'firm:<id>'), devices with live state and last
// seen, energy and output today, OEE by shift, rejected messages with their reasons, open alarms, and the
// onboarding form that shows a new device's token once.
import { ApiError, catalogue, get, places, post, qs } from '../api.ts';
import { AlarmList, basisLabel, card, kv, link, load, renderStates, setStatePill, showAggregate, statePill, table, td } from '../components.ts';
import { clear, h } from '../dom.ts';
import { ago, dateTime, duration, pct, qty } from '../format.ts';
import { pick, t, tMaybe } from '../i18n.ts';
import { feed } from '../live.ts';
import type { Alarm, Catalogue, DeadLetter, Device, EnergyLive, EnergySummary, Firm, OeeReport, ProvisionedDevice } from '../types.ts';
import { CARRIERS, OUTPUTS } from '../types.ts';
import type { ViewContext } from './context.ts';
import { notFound } from './notfound.ts';
import { basisChoice, basisSwitch } from './overview.ts';

const OUTPUT_UNIT: Record<string, string> = { fabric: 'm', yarn: 'kg', pieces: 'pieces' };

export async function mountFirm(root: HTMLElement, ctx: ViewContext, firmId: string): Promise<void> {
  const { scope } = ctx;
  let firm: Firm;
  try {
    firm = await get<Firm>(`/firms/${encodeURIComponent(firmId)}`);
  } catch (err) {
    if (!scope.alive) return;
    if (err instanceof ApiError && (err.status === 404 || err.status === 403)) {
      notFound(root, t('notFoundFirm'));
      return;
    }
    throw err;
  }
  if (!scope.alive) return;
  const [pl, cat] = await Promise.all([places(), catalogue()]);
  if (!scope.alive) return;
  const typeName = (type: string) => {
    const spec = cat.deviceTypes.find((d) => d.type === type);
    return spec ? pick(spec) : type;
  };
  const county = pl.counties.find((c) => c.code === firm.county);
  const park = pl.parks.find((p) => p.id === firm.park);
  const segment = pl.segments.find((s) => s.id === firm.segment);
  const basis = basisChoice();

  const livePowerEl = h('span', { class: 'big', 'data-testid': 'firm-power' }, '–');
  const livePowerNote = h('div', { class: 'muted small-text', 'data-testid': 'firm-power-note' });
  const statesBox = h('div', { class: 'live-states', 'data-testid': 'firm-states' });
  const head = h('section', { class: 'card full firm-head', 'data-firm': firm.id },
    h('div', null,
      h('h1', { class: 'page-title', 'data-testid': 'firm-name' }, firm.name, firm.aboveScale ? h('span', { class: 'tag' }, t('aboveScale')) : null, firm.demo ? h('span', { class: 'tag demo' }, t('demo')) : null),
      h('p', { class: 'muted' }, [firm.id, county ? pick(county) : firm.county, park ? pick(park) : firm.park, segment ? pick(segment) : firm.segment].join(' · '))),
    h('div', { class: 'firm-power' }, h('div', { class: 'label' }, t('livePower')), livePowerEl, livePowerNote, statesBox));

  const devicesCard = card(t('firmDevices'), { id: 'devices', wide: true });
  const energyCard = card(t('firmEnergyToday'), { id: 'firm-energy' });
  const oeeCard = card(t('oeeTitle'), { id: 'oee', wide: true });
  const alarmsCard = card(t('alarmsTitle'), { id: 'firm-alarms' });
  const rejectedCard = card(t('rejectedTitle'), { id: 'rejected', wide: true });
  const onboard = onboardingCard(ctx, firm, cat, (d) => { devices.set(d.id, d); renderDevices(); });
  energyCard.extra.append(basisSwitch(() => ctx.remount()));
  root.append(h('div', { class: 'grid' }, head, devicesCard.el, energyCard.el, oeeCard.el, alarmsCard.el, onboard, rejectedCard.el));

  // ---- devices with live state ---------------------------------------------------------------------------
  const devices = new Map<string, Device>();
  const renderDevices = () => {
    const list = [...devices.values()].sort((a, b) => a.name.localeCompare(b.name, 'zh-CN') || a.id.localeCompare(b.id));
    if (list.length === 0) {
      clear(devicesCard.body, h('p', { class: 'muted' }, t('noData')));
      return;
    }
    clear(devicesCard.body, table([t('colDevice'), t('colType'), t('colLocation'), t('colState'), { text: t('colPower'), num: true }, t('colLastSeen')], list.map((d) => {
      const live = feed.latest.get(d.id);
      return h('tr', { 'data-device': d.id },
        td(h('span', null, h('span', { class: `dot ${d.online || live ? 'on' : 'off'}`, title: d.online ? t('online') : t('offline') }), link(`#/device/${encodeURIComponent(d.id)}`, d.name), h('span', { class: 'muted small-text' }, ` ${d.id}`))),
        td(typeName(d.type)), td(d.location || '–'),
        td(d.type.endsWith('_meter') ? '–' : statePill(live?.state ?? null), false, { 'data-cell': 'state' }),
        td(qty(live?.metrics.power_kw, 'kW'), true, { 'data-cell': 'power' }),
        td(ago(Math.max(d.lastSeenAt ?? 0, live?.ts ?? 0) || null), false, { 'data-cell': 'seen', 'data-ts': String(Math.max(d.lastSeenAt ?? 0, live?.ts ?? 0)) }));
    }), { class: 'devices' }));
  };
  const updateLive = () => {
    for (const row of devicesCard.body.querySelectorAll<HTMLTableRowElement>('tr[data-device]')) {
      const id = row.dataset.device ?? '';
      const live = feed.latest.get(id);
      const seen = row.querySelector<HTMLElement>('[data-cell=seen]');
      if (live) {
        const pill = row.querySelector<HTMLElement>('[data-cell=state] .pill');
        if (pill && live.state) setStatePill(pill, live.state);
        const power = row.querySelector<HTMLElement>('[data-cell=power]');
        if (power) power.textContent = qty(live.metrics.power_kw, 'kW');
        if (seen && live.ts > Number(seen.dataset.ts ?? 0)) seen.dataset.ts = String(live.ts);
        row.querySelector('.dot')?.classList.replace('off', 'on');
      }
      if (seen) seen.textContent = ago(Number(seen.dataset.ts) || null);
    }
  };
  scope.add(feed.live.on(updateLive));
  scope.every(1000, updateLive);
  // The firm's power and devices per state: the aggregates of its live room, not a sum over the devices here.
  let gotAggregate = false;
  scope.add(feed.follow(`firm:${firm.id}`, (a) => {
    gotAggregate = true;
    showAggregate(livePowerEl, a);
    livePowerNote.textContent = t('firmPowerNote', { reporting: a.reporting, devices: a.devices });
    renderStates(statesBox, a);
  }));

  // ---- energy and output today ---------------------------------------------------------------------------
  const renderEnergy = (s: EnergySummary) => {
    clear(energyCard.body,
      h('div', { class: 'today-figures' },
        h('div', null, h('div', { class: 'label' }, t('todayElectricity')), h('div', { class: 'big' }, qty(s.carriers.electricity.counted, 'kWh'))),
        h('div', null, h('div', { class: 'label' }, t('todayTotal')), h('div', { class: 'big', 'data-testid': 'firm-tce' }, qty(s.totalTce, 'tce', 3)))),
      h('p', { class: 'basis-line' }, `${t('basis')}：`, basisLabel(s.basis)),
      table([t('colType'), { text: t('measured'), num: true }, { text: t('counted'), num: true }, { text: 'kgce', num: true }], CARRIERS.map((c) => {
        const f = s.carriers[c];
        return h('tr', { 'data-carrier': c }, td(tMaybe('carrier_', c)), td(qty(f.measured, f.unit), true), td(qty(f.counted, f.unit), true), td(qty(f.kgce, 'kgce'), true));
      })),
      h('h3', null, t('outputTitle')),
      kv(OUTPUTS.map((o) => [tMaybe('output_', o), qty(s.outputs[o].value, s.outputs[o].unit || (OUTPUT_UNIT[o] ?? ''))])),
      h('p', { class: 'muted small-text' }, `${tMaybe('source_', s.source)}${s.basis.includesWater ? '' : ` · ${t('waterNotInTotal')}`}`));
  };

  // ---- OEE by shift --------------------------------------------------------------------------------------
  const renderOee = (r: OeeReport) => {
    const periods = [...r.periods].reverse();
    clear(oeeCard.body,
      table([t('colShift'), { text: t('colAvailability'), num: true }, { text: t('colPerformance'), num: true }, { text: t('colQuality'), num: true }, { text: t('colOee'), num: true }, { text: t('colLoomEff'), num: true }, { text: t('colRunning'), num: true }],
        periods.map((p) => h('tr', { 'data-period': p.id },
          td(shiftLabel(p.id, p.start)), td(pct(p.firm.availability), true), td(pct(p.firm.performance), true), td(pct(p.firm.quality), true),
          td(h('strong', null, pct(p.firm.oee)), true), td(pct(p.firm.loomEfficiency), true), td(duration(p.firm.runningMs), true)))),
      h('p', { class: 'muted small-text' }, t('oeeHelp')));
  };

  // ---- rejected messages and alarms ----------------------------------------------------------------------
  const renderRejected = (list: DeadLetter[]) => {
    if (list.length === 0) {
      clear(rejectedCard.body, h('p', { class: 'muted' }, t('noRejected')));
      return;
    }
    clear(rejectedCard.body, h('div', { class: 'scroll' }, table([t('colTime'), t('colDevice'), t('colField'), t('colRule'), t('colReason')], list.map((d) => h('tr', { 'data-rejected': d.id },
      td(dateTime(d.receivedAt)), td(link(`#/device/${encodeURIComponent(d.deviceId)}`, devices.get(d.deviceId)?.name ?? d.deviceId)), td(h('code', null, d.field)), td(h('code', null, d.rule)), td(d.reason))), { class: 'rejected' })));
  };
  const alarmList = new AlarmList((a) => a.firmId === firm.id);
  alarmList.firms = new Map([[firm.id, firm]]);
  scope.add(feed.alarm.on((ev) => alarmList.apply(ev)));

  const loadAll = () => {
    // Live power from the API until the firm's live room sends its first aggregate.
    void get<EnergyLive>(`/energy/live${qs({ scope: 'firm', id: firm.id })}`).then((l) => {
      if (!scope.alive || gotAggregate) return;
      livePowerEl.textContent = qty(l.carriers.electricity.measured, 'kW');
      livePowerEl.dataset.source = 'rest';
    }, () => {});
    void load(scope, devicesCard.body, () => get<Device[]>(`/firms/${encodeURIComponent(firm.id)}/devices`), (list) => { devices.clear(); for (const d of list) devices.set(d.id, d); renderDevices(); updateLive(); });
    void load(scope, energyCard.body, () => get<EnergySummary>(`/energy/summary${qs({ scope: 'firm', id: firm.id, basis })}`), renderEnergy);
    void load(scope, oeeCard.body, () => get<OeeReport>(`/monitoring/oee${qs({ firmId: firm.id, by: 'shift' })}`), renderOee);
    void load(scope, rejectedCard.body, () => get<DeadLetter[]>(`/firms/${encodeURIComponent(firm.id)}/rejected?limit=50`), renderRejected);
    void load(scope, alarmsCard.body, () => get<Alarm[]>(`/alarms${qs({ firmId: firm.id, status: 'open', limit: 100 })}`), (list) => { alarmList.set(list); clear(alarmsCard.body, alarmList.el); });
  };
  loadAll();
  scope.every(60_000, loadAll);
  scope.add(feed.resync.on(loadAll));
}

function shiftLabel(id: string, start: number): string {
  const [day, shift] = id.split('/');
  return shift && day ? `${day.slice(5)} ${shift}` : `${dateTime(start)}`;
}

function onboardingCard(ctx: ViewContext, firm: Firm, cat: Catalogue, added: (d: Device) => void): HTMLElement {
  const typeSel = h('select', { name: 'type', required: true, 'data-testid': 'onboard-type' },
    ...cat.deviceTypes.map((d) => h('option', { value: d.type }, `${pick(d)} (${d.type})`)));
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off', 'data-testid': 'onboard-name' });
  const location = h('input', { name: 'location', maxlength: 200, autocomplete: 'off', 'data-testid': 'onboard-location' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('provision'));
  const result = h('div', { class: 'provision-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'onboard', 'data-testid': 'onboard-form' },
    h('p', { class: 'muted small-text' }, t('onboardHelp')),
    h('label', null, h('span', null, t('fieldType')), typeSel),
    h('label', null, h('span', null, t('fieldName')), name),
    h('label', null, h('span', null, t('fieldLocation')), location),
    h('div', null, submit), result);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    submit.textContent = t('provisioning');
    clear(result);
    post<ProvisionedDevice>(`/firms/${encodeURIComponent(firm.id)}/devices`, { type: typeSel.value, name: name.value.trim(), location: location.value.trim() })
      .then((d) => {
        if (!ctx.scope.alive) return;
        clear(result, credentials(d));
        name.value = '';
        location.value = '';
        const { token: _token, mqtt: _mqtt, ...device } = d;
        added(device);
      }, (err: unknown) => {
        clear(result, h('p', { class: 'error', 'data-testid': 'onboard-error' }, err instanceof Error ? err.message : String(err)));
      })
      .finally(() => {
        submit.disabled = false;
        submit.textContent = t('provision');
      });
  });
  const mine = ctx.identity.kind === 'engineer' && ctx.identity.firmId === firm.id;
  if (mine) return h('section', { class: 'card', id: 'onboard' }, h('header', { class: 'card-head' }, h('h2', null, t('onboardTitle'))), h('div', { class: 'card-body' }, form));
  return h('section', { class: 'card', id: 'onboard' }, h('details', null, h('summary', null, h('h2', { class: 'inline' }, t('onboardOthers'))), h('div', { class: 'card-body' }, form)));
}

function copyButton(text: string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'small' }, t('copy'));
  b.addEventListener('click', () => {
    void navigator.clipboard?.writeText(text).then(() => { b.textContent = t('copied'); }, () => {});
  });
  return b;
}

function credentials(d: ProvisionedDevice): HTMLElement {
  const broker = `mqtt://${window.location.hostname}:1883`;
  const topics = ['telemetry', 'state', 'status', 'errors'].map((k) => `${d.mqtt.topicPrefix}/${k}`);
  return h('div', { class: 'credentials', 'data-testid': 'provision-result', 'data-device': d.id },
    h('p', { class: 'warn' }, t('tokenOnce')),
    h('h3', null, t('mqttSettings')),
    kv([
      [t('mqttBroker'), h('span', null, h('code', null, broker), h('br'), h('span', { class: 'muted small-text' }, t('mqttBrokerNote')))],
      [t('mqttClientId'), h('code', null, d.mqtt.clientId)],
      [t('mqttUsername'), h('code', null, d.mqtt.username)],
      [t('mqttPassword'), h('span', null, h('code', { class: 'token', 'data-testid': 'device-token' }, d.token), ' ', copyButton(d.token))],
      [t('mqttTopics'), h('span', null, ...topics.map((x) => h('code', { class: 'topic' }, x)))],
    ]));
}
