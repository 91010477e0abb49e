// The firm view's device table: each device with its live state, power and last seen, updated in place from the
// live feed (and every second for the "seen … ago" column) without redrawing the table.
import { link, setStatePill, statePill, table, td, type Card, type Scope } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { ago, qty } from '../../format.ts';
import { t } from '../../i18n.ts';
import { feed } from '../../live.ts';
import type { Device } from '../../types.ts';

export class DeviceTable {
  readonly devices = new Map<string, Device>();

  constructor(private readonly card: Card, private readonly typeName: (type: string) => string, scope: Scope) {
    scope.add(feed.live.on(() => this.updateLive()));
    scope.every(1000, () => this.updateLive());
  }

  /** Replaces the devices with a fresh list from the API. */
  set(list: readonly Device[]): void {
    this.devices.clear();
    for (const d of list) this.devices.set(d.id, d);
    this.render();
    this.updateLive();
  }

  add(d: Device): void {
    this.devices.set(d.id, d);
    this.render();
  }

  private render(): void {
    const list = [...this.devices.values()].sort((a, b) => a.name.localeCompare(b.name, 'zh-CN') || a.id.localeCompare(b.id));
    if (list.length === 0) {
      clear(this.card.body, h('p', { class: 'muted' }, t('noData')));
      return;
    }
    clear(this.card.body, table([t('colDevice'), t('colType'), t('colLocation'), t('colState'), { text: t('colPower'), num: true }, t('colLastSeen')], list.map((d) => {
      const live = feed.latest.get(d.id);
      return h('tr', { 'data-device': d.id },
        td(h('span', null, h('span', { class: `dot ${d.online || live ? 'on' : 'off'}`, title: d.online ? t('online') : t('offline') }), link(`#/device/${encodeURIComponent(d.id)}`, d.name), h('span', { class: 'muted small-text' }, ` ${d.id}`))),
        td(this.typeName(d.type)), td(d.location || '–'),
        td(d.type.endsWith('_meter') ? '–' : statePill(live?.state ?? null), false, { 'data-cell': 'state' }),
        td(qty(live?.metrics.power_kw, 'kW'), true, { 'data-cell': 'power' }),
        td(ago(Math.max(d.lastSeenAt ?? 0, live?.ts ?? 0) || null), false, { 'data-cell': 'seen', 'data-ts': String(Math.max(d.lastSeenAt ?? 0, live?.ts ?? 0)) }));
    }), { class: 'devices' }));
  }

  private updateLive(): void {
    for (const row of this.card.body.querySelectorAll<HTMLTableRowElement>('tr[data-device]')) {
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
  }
}
