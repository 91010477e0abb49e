// The device view's state timeline: a live strip of the last hour since the page opened (built from the states
// the live feed reports), and today's time per state by shift from the API.
import { STATE_COLORS } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { duration, pct, time } from '../../format.ts';
import { t, tMaybe } from '../../i18n.ts';
import type { StateKey, StatesReport } from '../../types.ts';
import { STATES } from '../../types.ts';

const HOUR = 3_600_000;

interface Segment { state: string; from: number; to: number }

export class StateTimeline {
  readonly shiftBox = h('div', { class: 'by-shift' }, h('p', { class: 'muted' }, t('loading')));
  private readonly opened = Date.now();
  private readonly segments: Segment[] = [];
  private readonly strip = h('div', { class: 'state-strip', 'data-testid': 'state-strip' });
  private readonly axis = h('div', { class: 'strip-axis muted small-text' });

  constructor(body: HTMLElement, private readonly deviceId: string) {
    const legend = h('div', { class: 'legend' }, ...STATES.map((s) => h('span', { class: 'legend-item' }, h('i', { style: `background:${STATE_COLORS[s]}` }), tMaybe('state_', s))));
    clear(body, h('h3', null, t('stateLive')), this.strip, this.axis, legend, h('h3', null, t('stateByShift')), this.shiftBox);
  }

  get empty(): boolean {
    return this.segments.length === 0;
  }

  /** The device is in state `s` from `at` on (the first state counts from when the page opened). */
  note(s: string, at: number = this.opened): void {
    const last = this.segments[this.segments.length - 1];
    if (last && last.state === s) return;
    if (last) last.to = at;
    this.segments.push({ state: s, from: last ? at : this.opened, to: Number.POSITIVE_INFINITY });
  }

  renderStrip(): void {
    const now = Date.now();
    const start = Math.max(this.opened, now - HOUR);
    const span = Math.max(1, now - start);
    this.strip.replaceChildren(...this.segments.filter((s) => Math.min(s.to, now) > start).map((s) => {
      const from = Math.max(s.from, start);
      const to = Math.min(s.to, now);
      const key = (STATES as readonly string[]).includes(s.state) ? (s.state as StateKey) : 'unknown';
      return h('div', { class: 'seg', 'data-state': s.state, style: `width:${(((to - from) / span) * 100).toFixed(2)}%;background:${STATE_COLORS[key]}`, title: `${tMaybe('state_', s.state)} ${time(from)}–${time(to)}` });
    }));
    this.axis.replaceChildren(h('span', null, time(start)), h('span', null, time(now)));
  }

  renderShifts(r: StatesReport): void {
    if (r.periods.length === 0) {
      clear(this.shiftBox, h('p', { class: 'muted' }, t('noData')));
      return;
    }
    clear(this.shiftBox, ...r.periods.map((p) => {
      const times = p.devices.find((d) => d.deviceId === this.deviceId)?.times ?? p.firm;
      const total = STATES.reduce((n, s) => n + (times[s] ?? 0), 0) || 1;
      return h('div', { class: 'shift-row', 'data-period': p.id },
        h('span', { class: 'shift-label' }, p.id.split('/')[1] ?? p.id),
        h('div', { class: 'stack' }, ...STATES.filter((s) => (times[s] ?? 0) > 0).map((s) => h('div', { class: 'seg', style: `width:${(((times[s] ?? 0) / total) * 100).toFixed(2)}%;background:${STATE_COLORS[s]}`, title: `${tMaybe('state_', s)} ${duration(times[s] ?? 0)} (${pct((times[s] ?? 0) / total, 0)})` }))),
        h('span', { class: 'shift-run muted small-text' }, `${tMaybe('state_', 'running')} ${pct((times.running ?? 0) / total, 0)}`));
    }));
  }
}
