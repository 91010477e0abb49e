// The device view's live values: one row per metric, updated from the live feed, a changed value flashing once.
import { table, td } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { dateTime, qty, time } from '../../format.ts';
import { pick, t } from '../../i18n.ts';
import type { LiveDevice, MetricSpec } from '../../types.ts';

export class LiveValues {
  private readonly cells = new Map<string, { value: HTMLElement; at: HTMLElement }>();

  constructor(body: HTMLElement, private readonly metrics: readonly MetricSpec[]) {
    clear(body, table([t('colMetric'), { text: t('colValue'), num: true }, t('colUpdated')], metrics.map((m) => {
      const value = td('–', true, { 'data-metric': m.name });
      const at = td('–');
      this.cells.set(m.name, { value, at });
      return h('tr', null, td(h('span', { title: m.name }, pick(m))), value, at);
    }), { class: 'live-values' }));
  }

  /** Stored values for metrics the live feed has not given yet (a device that stopped sending shows its last values). */
  showStored(values: ReadonlyArray<{ metric: string; ts: number; value: number }>): void {
    for (const v of values) {
      const c = this.cells.get(v.metric);
      const m = this.metrics.find((x) => x.name === v.metric);
      if (!c || !m || c.value.dataset.raw !== undefined) continue;
      c.value.textContent = qty(v.value, m.unit);
      c.value.dataset.ts = String(v.ts);
      c.at.textContent = dateTime(v.ts);
    }
  }

  show(d: LiveDevice): void {
    for (const [name, v] of Object.entries(d.metrics)) {
      const c = this.cells.get(name);
      const m = this.metrics.find((x) => x.name === name);
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
  }
}
