// Building blocks shared by the views: cards that load on their own, tables, state pills, alarm lists, live-room
// figures, the energy basis label, progress bars, the KPI gauge, and a Scope that undoes a view's listeners and timers.
import { ApiError, post } from './api.ts';
import type { TimeChart } from './charts.ts';
import { h, svg, clear, type Child } from './dom.ts';
import { dateTime, num, pct, qty } from './format.ts';
import { pick, t, tMaybe } from './i18n.ts';
import type { Alarm, AlarmEvent, Basis, Firm, RoomAggregate, StateKey } from './types.ts';
import { STATES } from './types.ts';

/** Everything a view started, undone when it is left. */
export class Scope {
  alive = true;
  private readonly undo: Array<() => void> = [];
  add(fn: () => void): void {
    this.undo.push(fn);
  }
  every(ms: number, fn: () => void): void {
    const id = setInterval(fn, ms);
    this.add(() => clearInterval(id));
  }
  chart<T extends TimeChart>(c: T): T {
    this.add(() => c.destroy());
    return c;
  }
  dispose(): void {
    this.alive = false;
    for (const fn of this.undo.splice(0).reverse()) fn();
  }
}

export interface Card {
  el: HTMLElement;
  title: HTMLElement;
  body: HTMLElement;
  extra: HTMLElement;
}

export function card(title: string, opts: { id?: string; wide?: boolean; full?: boolean } = {}): Card {
  const extra = h('div', { class: 'card-extra' });
  const body = h('div', { class: 'card-body' }, h('p', { class: 'muted' }, t('loading')));
  const cls = ['card', opts.wide ? 'wide' : '', opts.full ? 'full' : ''].filter(Boolean).join(' ');
  const titleEl = h('h2', null, title);
  const el = h('section', { class: cls, ...(opts.id ? { id: opts.id } : {}) }, h('header', { class: 'card-head' }, titleEl, extra), body);
  return { el, title: titleEl, body, extra };
}

/** Shows why a card has no content: the endpoint is missing (unavailable) or failed (with a retry). */
export function showError(body: HTMLElement, err: unknown, retry?: () => void): void {
  const missing = err instanceof ApiError && err.status === 404 && /^Route /.test(err.message);
  const msg = missing ? t('unavailable') : t('error', { message: err instanceof Error ? err.message : String(err) });
  clear(body, h('p', { class: missing ? 'muted' : 'error' }, msg), retry && !missing ? h('button', { type: 'button', class: 'link', onclick: () => retry() }, t('retry')) : null);
}

/** Runs a loader for a card: on failure the card says why; results after the view was left are dropped. */
export async function load<T>(scope: Scope, body: HTMLElement, fetcher: () => Promise<T>, render: (value: T) => void): Promise<void> {
  try {
    const v = await fetcher();
    if (scope.alive) render(v);
  } catch (err) {
    if (scope.alive) showError(body, err, () => { void load(scope, body, fetcher, render); });
  }
}

export function table(headers: Array<string | { text: string; num?: boolean }>, rows: HTMLTableRowElement[], attrs: Record<string, string> = {}): HTMLTableElement {
  return h('table', attrs,
    h('thead', null, h('tr', null, ...headers.map((x) => (typeof x === 'string' ? h('th', null, x) : h('th', { class: x.num ? 'num' : '' }, x.text))))),
    h('tbody', null, ...rows));
}

export function td(content: Child, numeric = false, attrs: Record<string, string> = {}): HTMLTableCellElement {
  return h('td', { ...(numeric ? { class: 'num' } : {}), ...attrs }, content);
}

export function link(href: string, text: string): HTMLAnchorElement {
  return h('a', { href }, text);
}

export function statePill(state: string | undefined | null): HTMLSpanElement {
  const s = state ?? 'unknown';
  return h('span', { class: `pill state-${s}`, 'data-state': s }, tMaybe('state_', s));
}

export function setStatePill(el: HTMLElement, state: string | undefined | null): void {
  const s = state ?? 'unknown';
  el.className = `pill state-${s}`;
  el.dataset.state = s;
  el.textContent = tMaybe('state_', s);
}

/** A live room's electric power (kW) in an element, with the figure, the room and its time as data attributes. */
export function showAggregate(el: HTMLElement, a: RoomAggregate): void {
  el.textContent = qty(a.rates.electricity, 'kW');
  el.dataset.raw = String(a.rates.electricity);
  el.dataset.at = String(a.at);
  el.dataset.room = a.room;
  el.dataset.source = 'aggregate';
}

/** A live room's devices per state as state pills with counts (states with no device left out). */
export function renderStates(box: HTMLElement, a: RoomAggregate): void {
  box.dataset.at = String(a.at);
  clear(box, h('span', { class: 'label' }, t('liveStates', { devices: a.devices })), ' ',
    ...STATES.filter((s) => (a.states[s] ?? 0) > 0).map((s) => {
      const pill = statePill(s);
      pill.dataset.count = String(a.states[s]);
      pill.textContent = `${tMaybe('state_', s)} ${a.states[s]}`;
      return pill;
    }));
}

export const STATE_COLORS: Record<StateKey, string> = {
  running: '#2e7d32', idle: '#f9a825', setup: '#1769aa', maintenance: '#6a1b9a', fault: '#c62828', stopped: '#607d8b', unknown: '#cfd8dc',
};

/** "当量值（GB/T 2589-2020，电力 0.1229 kgce/kWh）": every energy figure in standard coal says its basis. */
export function basisLabel(b: Basis): HTMLSpanElement {
  const name = tMaybe('basis_', b.id);
  return h('span', { class: 'basis', 'data-basis': b.id, title: b.note }, t('basisNote', { basis: name, standard: b.standard, factor: num(b.factors.electricity.kgcePerUnit, 4) }));
}

export function progressBar(fraction: number | null, met: boolean | null): HTMLDivElement {
  const w = fraction === null ? 0 : Math.max(0, Math.min(1, fraction)) * 100;
  return h('div', { class: `progress${met ? ' met' : ''}${fraction === null ? ' empty' : ''}`, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(w) },
    h('div', { class: 'progress-fill', style: `width:${w.toFixed(1)}%` }));
}

/** A half-circle gauge of a share (0..1) with the target marked. */
export function gauge(share: number, target: number): SVGSVGElement {
  const cx = 110, cy = 104, r = 86;
  const at = (f: number) => {
    const a = Math.PI * (1 - Math.max(0, Math.min(1, f)));
    return [cx + r * Math.cos(a), cy - r * Math.sin(a)] as const;
  };
  const [x0, y0] = at(0);
  const [x1, y1] = at(1);
  const [xv, yv] = at(share);
  const [tx, ty] = at(target);
  const [tx2, ty2] = [cx + (r + 14) * Math.cos(Math.PI * (1 - target)), cy - (r + 14) * Math.sin(Math.PI * (1 - target))];
  const [tx3, ty3] = [cx + (r - 14) * Math.cos(Math.PI * (1 - target)), cy - (r - 14) * Math.sin(Math.PI * (1 - target))];
  return svg('svg', { viewBox: '0 0 220 124', class: 'gauge', role: 'img', 'aria-label': `${pct(share)} / ${pct(target, 0)}` },
    svg('path', { d: `M ${x0} ${y0} A ${r} ${r} 0 0 1 ${x1} ${y1}`, class: 'gauge-track' }),
    share > 0 ? svg('path', { d: `M ${x0} ${y0} A ${r} ${r} 0 0 1 ${xv.toFixed(2)} ${yv.toFixed(2)}`, class: `gauge-value${share >= target ? ' met' : ''}` }) : null,
    svg('line', { x1: tx3.toFixed(2), y1: ty3.toFixed(2), x2: tx2.toFixed(2), y2: ty2.toFixed(2), class: 'gauge-target' }),
    svg('text', { x: tx.toFixed(2), y: (ty - 18).toFixed(2), class: 'gauge-target-label', 'text-anchor': 'middle' }, pct(target, 0)),
    svg('text', { x: cx, y: cy - 8, class: 'gauge-value-label', 'text-anchor': 'middle', 'data-testid': 'kpi-share' }, pct(share)));
}

export function kv(pairs: Array<[string, Child]>): HTMLDListElement {
  return h('dl', { class: 'kv' }, ...pairs.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

/** Open alarms with live updates from the 'alarm' event and an acknowledge button. */
export class AlarmList {
  readonly el = h('div', { class: 'alarms' });
  private alarms = new Map<number, Alarm>();
  /** Firm names shown next to the device. */
  firms = new Map<string, Firm>();

  constructor(private readonly filter: (a: Alarm) => boolean, private readonly keepClosed = false) {}

  set(list: Alarm[]): void {
    this.alarms = new Map(list.filter(this.filter).map((a) => [a.id, a]));
    this.render();
  }

  apply(ev: AlarmEvent): void {
    if (!this.filter(ev.alarm)) return;
    if (ev.alarm.status === 'closed' && !this.keepClosed) this.alarms.delete(ev.alarm.id);
    else this.alarms.set(ev.alarm.id, ev.alarm);
    this.render();
  }

  render(): void {
    const list = [...this.alarms.values()].sort((a, b) => b.raisedAt - a.raisedAt);
    if (list.length === 0) {
      clear(this.el, h('p', { class: 'muted', 'data-testid': 'no-alarms' }, this.keepClosed ? t('noAlarmsAll') : t('noAlarms')));
      return;
    }
    clear(this.el, table([t('colSeverity'), t('colMessage'), t('colDevice'), t('colRaised'), t('colStatus'), ''], list.map((a) => this.row(a)), { class: 'alarm-table' }));
  }

  private row(a: Alarm): HTMLTableRowElement {
    const firm = this.firms.get(a.firmId);
    const ackBtn = a.ackedAt === null && a.status !== 'closed'
      ? h('button', { type: 'button', class: 'small', onclick: (ev: Event) => { void this.ack(a, ev.currentTarget as HTMLButtonElement); } }, t('ack'))
      : null;
    return h('tr', { 'data-alarm': a.id },
      td(h('span', { class: `pill sev-${a.severity}` }, tMaybe('sev_', a.severity))),
      td(a.messages ? pick(a.messages) : a.message),
      td(h('span', null, link(`#/device/${encodeURIComponent(a.deviceId)}`, a.deviceId), firm ? h('span', { class: 'muted small-text' }, ` · ${firm.name}`) : null)),
      td(dateTime(a.raisedAt)),
      td(tMaybe('alarm_', a.status)),
      td(ackBtn));
  }

  private async ack(a: Alarm, btn: HTMLButtonElement): Promise<void> {
    btn.disabled = true;
    try {
      const updated = await post<Alarm>(`/alarms/${a.id}/ack`, {});
      this.alarms.set(updated.id, updated);
      this.render();
    } catch (err) {
      btn.disabled = false;
      btn.title = err instanceof Error ? err.message : String(err);
    }
  }
}
