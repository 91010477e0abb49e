// The time-range picker: presets (today, this week, the last 30 days…) and custom dates. The choice is written
// into the address with replaceState (no hashchange, so the view is not mounted again) and handed to the cards.
import { h } from '../../dom.ts';
import { customRange, hashWithRange, presetRange, rangeFromHash, type Preset, type TimeRange } from '../../range.ts';
import { tx } from './texts.ts';

export const ENERGY_PRESETS: readonly Preset[] = ['today', 'yesterday', 'week', 'month', 'year', '7d', '30d', 'custom'];
export const DEVICE_PRESETS: readonly Preset[] = ['1h', ...ENERGY_PRESETS];

export class RangePicker {
  readonly el: HTMLElement;
  private current: TimeRange;
  private readonly listeners: Array<(r: TimeRange) => void> = [];
  private readonly select: HTMLSelectElement;
  private readonly fromInput = h('input', { type: 'date', 'data-range-from': '', 'aria-label': tx('rangeFrom') });
  private readonly toInput = h('input', { type: 'date', 'data-range-to': '', 'aria-label': tx('rangeTo') });
  private readonly custom: HTMLElement;
  private readonly problem = h('span', { class: 'error small-text', role: 'alert', 'data-testid': 'range-problem' });

  constructor(private readonly presets: readonly Preset[], def: Exclude<Preset, 'custom'>) {
    this.current = rangeFromHash(def, presets);
    this.select = h('select', { 'data-range-preset': '', 'aria-label': tx('rangeLabel'), onchange: () => this.onPreset() },
      ...presets.map((p) => h('option', { value: p }, tx(`range_${p}`))));
    this.custom = h('span', { class: 'range-custom' }, this.fromInput, ' – ', this.toInput,
      h('button', { type: 'button', class: 'small', 'data-range-apply': '', onclick: () => this.onApply() }, tx('rangeApply')));
    this.el = h('div', { class: 'range-picker', role: 'group', 'aria-label': tx('rangeLabel'), 'data-testid': 'range-picker' },
      h('span', { class: 'label' }, tx('rangeLabel')), this.select, this.custom, this.problem);
    this.show();
  }

  get range(): TimeRange {
    return this.current;
  }

  onChange(fn: (r: TimeRange) => void): void {
    this.listeners.push(fn);
  }

  private onPreset(): void {
    const p = this.select.value as Preset;
    if (p === 'custom') {
      this.custom.hidden = false;
      return;
    }
    this.set(presetRange(p));
  }

  private onApply(): void {
    const r = customRange(this.fromInput.value, this.toInput.value);
    if ('error' in r) {
      this.problem.textContent = tx(r.error === 'order' ? 'rangeBadOrder' : 'rangeBadDates');
      return;
    }
    if (r.end - r.from > 400 * 86_400_000) {
      this.problem.textContent = tx('rangeTooLong');
      return;
    }
    this.set(r);
  }

  private set(r: TimeRange): void {
    this.current = r;
    this.problem.textContent = '';
    history.replaceState(null, '', hashWithRange(r));
    this.show();
    for (const fn of this.listeners) fn(r);
  }

  private show(): void {
    const r = this.current;
    this.select.value = r.preset;
    this.fromInput.value = r.fromDate;
    this.toInput.value = r.toDate;
    this.custom.hidden = r.preset !== 'custom';
    this.el.dataset.preset = r.preset;
    this.el.dataset.from = String(r.from);
    this.el.dataset.to = String(r.to);
  }
}
