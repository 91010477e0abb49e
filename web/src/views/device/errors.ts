// The device page's rejected messages, live: the firm's dead letters of this device polled every few seconds,
// so an engineer sees why a message was refused without subscribing to the errors topic as the device (which
// would take over its session: the client id is the device id). Rows that arrive while the page is open flash.
import { get, qs } from '../../api.ts';
import { showError, table, td, type Scope } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { dateTime, time } from '../../format.ts';
import { t } from '../../i18n.ts';
import type { DeadLetter, Device } from '../../types.ts';
import { dx } from './texts.ts';

const POLL_MS = 5_000;
const SHOWN = 20;

export class RecentRejections {
  private newest = 0;
  private first = true;

  constructor(private readonly body: HTMLElement, private readonly device: Pick<Device, 'id' | 'firmId'>, private readonly scope: Scope) {}

  start(): void {
    void this.poll();
    this.scope.every(POLL_MS, () => { void this.poll(); });
  }

  private async poll(): Promise<void> {
    try {
      const list = await get<DeadLetter[]>(`/firms/${encodeURIComponent(this.device.firmId)}/rejected${qs({ deviceId: this.device.id, limit: SHOWN })}`);
      if (this.scope.alive) this.render(list);
    } catch (err) {
      if (this.scope.alive) showError(this.body, err);
    }
  }

  private render(list: DeadLetter[]): void {
    const fresh = (d: DeadLetter) => !this.first && d.id > this.newest;
    const rows = list.map((d) => h('tr', { 'data-rejected': d.id, class: fresh(d) ? 'flash' : '' },
      td(dateTime(d.receivedAt), false, { 'data-ts': String(d.receivedAt) }), td(h('code', null, d.field)), td(h('code', null, d.rule)), td(d.reason)));
    this.newest = Math.max(this.newest, ...list.map((d) => d.id));
    this.first = false;
    clear(this.body,
      h('p', { class: 'muted small-text' }, dx('errHelp'), ' ', h('span', { 'data-testid': 'rejected-updated' }, dx('errUpdated', { time: time(Date.now()) }))),
      list.length === 0
        ? h('p', { class: 'muted', 'data-testid': 'no-rejected' }, t('noRejected'))
        : h('div', { class: 'scroll' }, table([t('colTime'), t('colField'), t('colRule'), t('colReason')], rows, { class: 'rejected', 'data-testid': 'device-rejected' })));
  }
}
