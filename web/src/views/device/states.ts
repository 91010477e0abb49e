// The device view's state timeline: for the live hour a strip since the page opened (built from the states the
// live feed reports); for any other picked range a strip of that range from the stored state events (with the
// state before it) and the time per state summed over it, as the monitoring report counts it. Below, today's
// time per state by shift from the API.
import { get, qs } from '../../api.ts';
import { STATE_COLORS } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { dateTime, duration, pct, time } from '../../format.ts';
import { t, tMaybe } from '../../i18n.ts';
import type { TimeRange } from '../../range.ts';
import type { StateKey, StatesReport } from '../../types.ts';
import { STATES } from '../../types.ts';
import { rangeSegments, timePerState, UNKNOWN_AFTER_MS, type Segment } from './range-series.ts';
import { rx } from './range-texts.ts';

const HOUR = 3_600_000;
const MAX_SPAN = 31 * 86_400_000;
const EVENT_LIMIT = 10_000;

interface StateHistory { before: { ts: number; state: string } | null; events: Array<{ ts: number; state: string }>; truncated: boolean }

const stateKey = (s: string): StateKey => ((STATES as readonly string[]).includes(s) ? (s as StateKey) : 'unknown');

export class StateTimeline {
  readonly shiftBox = h('div', { class: 'by-shift' }, h('p', { class: 'muted' }, t('loading')));
  private readonly opened = Date.now();
  private readonly segments: Segment[] = [];
  private readonly strip = h('div', { class: 'state-strip', 'data-testid': 'state-strip' });
  private readonly axis = h('div', { class: 'strip-axis muted small-text' });
  private readonly title = h('h3', null, t('stateLive'));
  private readonly totals = h('div', { class: 'state-totals', 'data-testid': 'state-totals', hidden: true });
  /** The picked range other than the live hour, while one is shown. */
  private range: TimeRange | undefined;
  private seq = 0;

  /**
   * `lastSeen` tells when the device last sent anything (null: never), so a range after it went silent shows
   * unknown, as the monitoring counts it.
   */
  constructor(body: HTMLElement, private readonly deviceId: string, private readonly alive: () => boolean = () => true, private readonly lastSeen: () => number | null = () => null) {
    const legend = h('div', { class: 'legend' }, ...STATES.map((s) => h('span', { class: 'legend-item' }, h('i', { style: `background:${STATE_COLORS[s]}` }), tMaybe('state_', s))));
    clear(body, this.title, this.strip, this.axis, this.totals, legend, h('h3', null, t('stateByShift')), this.shiftBox);
  }

  /** The live hour (strip from the live feed), or another range (strip and time per state from the API). */
  show(r: TimeRange): void {
    const seq = ++this.seq;
    if (r.preset === '1h') {
      this.range = undefined;
      this.title.textContent = t('stateLive');
      this.totals.hidden = true;
      delete this.strip.dataset.from;
      delete this.strip.dataset.to;
      this.renderStrip();
      return;
    }
    this.range = r;
    this.title.textContent = rx('stateRange');
    const to = r.live ? Date.now() : r.to;
    const from = Math.max(r.from, to - MAX_SPAN);
    this.strip.dataset.loading = 'true';
    void get<StateHistory>(`/devices/${encodeURIComponent(this.deviceId)}/states${qs({ from, to, limit: EVENT_LIMIT })}`).then((hist) => {
      if (!this.alive() || seq !== this.seq) return;
      const seen = this.lastSeen();
      this.drawRange(rangeSegments(hist, from, to, seen === null ? to : seen + UNKNOWN_AFTER_MS), from, to, hist.truncated);
    }, () => {
      if (seq === this.seq) clear(this.strip, h('p', { class: 'muted' }, t('noData')));
    });
  }

  private drawRange(segments: Segment[], from: number, to: number, truncated: boolean): void {
    const span = Math.max(1, to - from);
    this.strip.replaceChildren(...segments.map((s) => this.segment(s, span, dateTime)));
    this.axis.replaceChildren(h('span', null, dateTime(from)), h('span', null, dateTime(to)));
    const sums = timePerState(segments, STATES);
    this.totals.hidden = false;
    clear(this.totals, h('h4', null, rx('stateTotals')), h('div', { class: 'legend' }, ...STATES.filter((k) => (sums.get(k) ?? 0) > 0).map((k) => {
      const ms = sums.get(k) ?? 0;
      return h('span', { class: 'legend-item', 'data-state': k, 'data-ms': String(ms) }, h('i', { style: `background:${STATE_COLORS[k]}` }), `${tMaybe('state_', k)} ${duration(ms)} (${pct(ms / span, 1)})`);
    })), truncated ? h('p', { class: 'muted small-text' }, rx('stateTruncated', { n: EVENT_LIMIT })) : '');
    Object.assign(this.strip.dataset, { from: String(from), to: String(to), loading: 'false' });
  }

  private segment(s: Segment, span: number, fmt: (ms: number) => string): HTMLElement {
    const key = stateKey(s.state);
    return h('div', { class: 'seg', 'data-state': s.state, style: `width:${(((s.to - s.from) / span) * 100).toFixed(2)}%;background:${STATE_COLORS[key]}`, title: `${tMaybe('state_', s.state)} ${fmt(s.from)}–${fmt(s.to)}` });
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

  /** The live strip (nothing while another range is shown). */
  renderStrip(): void {
    if (this.range) return;
    const now = Date.now();
    const start = Math.max(this.opened, now - HOUR);
    const span = Math.max(1, now - start);
    this.strip.replaceChildren(...this.segments.filter((s) => Math.min(s.to, now) > start)
      .map((s) => this.segment({ state: s.state, from: Math.max(s.from, start), to: Math.min(s.to, now) }, span, time)));
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
