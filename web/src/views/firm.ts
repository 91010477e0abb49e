// Firm view: live power and devices per state (socket.io room 'firm:<id>'), devices with live state and last
// seen, energy and output today, OEE by shift, rejected messages with their reasons, open alarms, the
// onboarding form that shows a new device's token once, the firm's gateways, and the form that edits the firm
// (dated, audited), with breadcrumbs and the energy history over a picked range. The cards' content is drawn by the
// modules under firm/.
import { catalogue, get, places, qs } from '../api.ts';
import { AlarmList, card, load, renderStates, showAggregate, type Scope } from '../components.ts';
import { clear, h } from '../dom.ts';
import { qty } from '../format.ts';
import { pick, t } from '../i18n.ts';
import { feed } from '../live.ts';
import type { Alarm, Catalogue, DeadLetter, Device, EnergyLive, EnergySummary, Firm, OeeReport, Places } from '../types.ts';
import { basisChoice, basisSwitch } from './basis.ts';
import { breadcrumbs, firmCrumbs } from './breadcrumbs.ts';
import type { ViewContext } from './context.ts';
import { alarmHistoryExport, exportButtons } from '../download.ts';
import { EnergyHistory } from './history/energy-history.ts';
import { ENERGY_PRESETS, RangePicker } from './history/range-picker.ts';
import { DeviceTable } from './firm/devices.ts';
import { firmEditCard } from './firm/edit.ts';
import { GatewaysCard } from './firm/gateways.ts';
import { onboardingCard } from './firm/onboarding.ts';
import { renderEnergy, renderOee, renderRejected } from './firm/sections.ts';
import { getOrNotFound } from './notfound.ts';

/**
 * The firm's name and places, and its power and devices per state: the aggregates of its live room, not a sum over
 * the devices listed; the API's figure until the room's first aggregate arrives.
 */
class FirmHead {
  readonly el: HTMLElement;
  private readonly power = h('span', { class: 'big', 'data-testid': 'firm-power' }, '–');
  private gotAggregate = false;

  constructor(private readonly firm: Firm, pl: Places, scope: Scope, crumbs: HTMLElement, picker: HTMLElement) {
    const county = pl.counties.find((c) => c.code === firm.county);
    const park = pl.parks.find((p) => p.id === firm.park);
    const segment = pl.segments.find((s) => s.id === firm.segment);
    const note = h('div', { class: 'muted small-text', 'data-testid': 'firm-power-note' });
    const states = h('div', { class: 'live-states', 'data-testid': 'firm-states' });
    this.el = h('section', { class: 'card full firm-head', 'data-firm': firm.id },
      h('div', null,
        crumbs,
        h('h1', { class: 'page-title', 'data-testid': 'firm-name' }, firm.name, firm.aboveScale ? h('span', { class: 'tag' }, t('aboveScale')) : null, firm.demo ? h('span', { class: 'tag demo' }, t('demo')) : null),
        h('p', { class: 'muted' }, [firm.id, county ? pick(county) : firm.county, park ? pick(park) : firm.park, segment ? pick(segment) : firm.segment].join(' · ')),
        picker),
      h('div', { class: 'firm-power' }, h('div', { class: 'label' }, t('livePower')), this.power, note, states));
    scope.add(feed.follow(`firm:${firm.id}`, (a) => {
      this.gotAggregate = true;
      showAggregate(this.power, a);
      note.textContent = t('firmPowerNote', { reporting: a.reporting, devices: a.devices });
      renderStates(states, a);
    }));
  }

  loadPower(scope: Scope): void {
    void get<EnergyLive>(`/energy/live${qs({ scope: 'firm', id: this.firm.id })}`).then((l) => {
      if (!scope.alive || this.gotAggregate) return;
      this.power.textContent = qty(l.carriers.electricity.measured, 'kW');
      this.power.dataset.source = 'rest';
    }, () => {});
  }
}

function typeNames(cat: Catalogue): (type: string) => string {
  return (type) => {
    const spec = cat.deviceTypes.find((d) => d.type === type);
    return spec ? pick(spec) : type;
  };
}

export async function mountFirm(root: HTMLElement, ctx: ViewContext, firmId: string): Promise<void> {
  const { scope } = ctx;
  const firm = await getOrNotFound<Firm>(root, scope, `/firms/${encodeURIComponent(firmId)}`, [404, 403], t('notFoundFirm'));
  if (!firm || !scope.alive) return;
  const [pl, cat] = await Promise.all([places(), catalogue()]);
  if (!scope.alive) return;
  const basis = basisChoice();

  const devicesCard = card(t('firmDevices'), { id: 'devices', wide: true });
  const energyCard = card(t('firmEnergyToday'), { id: 'firm-energy' });
  const oeeCard = card(t('oeeTitle'), { id: 'oee', wide: true });
  const alarmsCard = card(t('alarmsTitle'), { id: 'firm-alarms' });
  const rejectedCard = card(t('rejectedTitle'), { id: 'rejected', wide: true });
  const devices = new DeviceTable(devicesCard, typeNames(cat), scope);
  const picker = new RangePicker(ENERGY_PRESETS, 'today');
  const head = new FirmHead(firm, pl, scope, breadcrumbs(firmCrumbs(ctx.identity, pl, firm)), picker.el);
  const history = new EnergyHistory({ kind: 'firm', id: firm.id }, basis, scope, picker, () => ctx.remount());
  const onboard = onboardingCard(ctx, firm, cat, (d) => devices.add(d));
  const gateways = new GatewaysCard(ctx, firm, scope);
  energyCard.extra.append(basisSwitch(() => ctx.remount()));
  oeeCard.extra.append(exportButtons('/monitoring/oee.csv', () => ({ firmId: firm.id, by: 'shift' }), 'oee', { zh: 'OEE（近 24 小时，按班次）', en: 'OEE (last 24 h, by shift)' }));
  alarmsCard.extra.append(alarmHistoryExport(firm.id));
  root.append(h('div', { class: 'grid' }, head.el, devicesCard.el, energyCard.el, history.card.el, oeeCard.el, alarmsCard.el, onboard, gateways.el, firmEditCard(ctx, firm, pl), rejectedCard.el));
  gateways.load();

  const alarmList = new AlarmList((a) => a.firmId === firm.id);
  alarmList.firms = new Map([[firm.id, firm]]);
  scope.add(feed.alarm.on((ev) => alarmList.apply(ev)));

  const firmPath = `/firms/${encodeURIComponent(firm.id)}`;
  const loadAll = () => {
    head.loadPower(scope);
    void load(scope, devicesCard.body, () => get<Device[]>(`${firmPath}/devices`), (list) => devices.set(list));
    void load(scope, energyCard.body, () => get<EnergySummary>(`/energy/summary${qs({ scope: 'firm', id: firm.id, basis })}`), (s) => renderEnergy(energyCard.body, s));
    void load(scope, oeeCard.body, () => get<OeeReport>(`/monitoring/oee${qs({ firmId: firm.id, by: 'shift' })}`), (r) => renderOee(oeeCard.body, r));
    void load(scope, rejectedCard.body, () => get<DeadLetter[]>(`${firmPath}/rejected?limit=50`), (list) => renderRejected(rejectedCard.body, list, devices.devices));
    void load(scope, alarmsCard.body, () => get<Alarm[]>(`/alarms${qs({ firmId: firm.id, status: 'open', limit: 100 })}`), (list) => { alarmList.set(list); clear(alarmsCard.body, alarmList.el); });
  };
  loadAll();
  scope.every(60_000, loadAll);
  scope.add(feed.resync.on(loadAll));
}
