// The firm view's cards that are drawn whole from one API answer: energy and output today, OEE by shift, and the
// messages the platform rejected with their reasons.
import { basisLabel, kv, link, table, td } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { dateTime, duration, pct, qty } from '../../format.ts';
import { pick, t, tMaybe } from '../../i18n.ts';
import type { DeadLetter, Device, EnergySummary, OeeReport } from '../../types.ts';
import { CARRIERS, OUTPUTS } from '../../types.ts';

const OUTPUT_UNIT: Record<string, string> = { fabric: 'm', yarn: 'kg', pieces: 'pieces' };

/** The API's per-carrier counting rule and the electricity measured but not counted (export, own generation). */
type BoundaryDetail = { boundary: { carriers?: Record<string, { rule: string | null; zh: string; en: string }> }; electricityFlows?: { export: number; generation: number } };

function electricityRule(s: EnergySummary & BoundaryDetail): HTMLElement | '' {
  const rule = s.boundary.carriers?.electricity;
  if (!rule || rule.rule === null) return '';
  const f = s.electricityFlows;
  const flows = f && (f.export > 0 || f.generation > 0)
    ? ` · ${pick({ zh: `上网 ${qty(f.export, 'kWh')}，自发电 ${qty(f.generation, 'kWh')}`, en: `exported ${qty(f.export, 'kWh')}, generated ${qty(f.generation, 'kWh')}` })}`
    : '';
  return h('p', { class: 'basis-line', 'data-testid': 'electricity-rule' }, `${pick({ zh: '电力', en: 'Electricity' })}：${pick(rule)}${flows}`);
}

export function renderEnergy(body: HTMLElement, s: EnergySummary & BoundaryDetail): void {
  clear(body,
    h('div', { class: 'today-figures' },
      h('div', null, h('div', { class: 'label' }, t('todayElectricity')), h('div', { class: 'big' }, qty(s.carriers.electricity.counted, 'kWh'))),
      h('div', null, h('div', { class: 'label' }, t('todayTotal')), h('div', { class: 'big', 'data-testid': 'firm-tce' }, qty(s.totalTce, 'tce', 3)))),
    h('p', { class: 'basis-line' }, `${t('basis')}：`, basisLabel(s.basis)),
    s.boundary.steamSource ? h('p', { class: 'basis-line', 'data-testid': 'boundary-rule' }, `${t('boundaryRule')}：${tMaybe('steamSource_', s.boundary.steamSource)}`) : '',
    electricityRule(s),
    table([t('colType'), { text: t('measured'), num: true }, { text: t('counted'), num: true }, { text: 'kgce', num: true }], CARRIERS.map((c) => {
      const f = s.carriers[c];
      return h('tr', { 'data-carrier': c }, td(tMaybe('carrier_', c)), td(qty(f.measured, f.unit), true), td(qty(f.counted, f.unit), true), td(qty(f.kgce, 'kgce'), true));
    })),
    h('h3', null, t('outputTitle')),
    kv(OUTPUTS.map((o) => [tMaybe('output_', o), qty(s.outputs[o].value, s.outputs[o].unit || (OUTPUT_UNIT[o] ?? ''))])),
    h('p', { class: 'muted small-text' }, `${tMaybe('source_', s.source)}${s.basis.includesWater ? '' : ` · ${t('waterNotInTotal')}`}`));
}

export function renderOee(body: HTMLElement, r: OeeReport): void {
  const periods = [...r.periods].reverse();
  clear(body,
    table([t('colShift'), { text: t('colAvailability'), num: true }, { text: t('colPerformance'), num: true }, { text: t('colQuality'), num: true }, { text: t('colOee'), num: true },
      { text: t('colLoomEff'), num: true }, { text: t('colLoomEffScheduled'), num: true }, { text: t('colRunning'), num: true }],
    periods.map((p) => h('tr', { 'data-period': p.id },
      td(shiftLabel(p.id, p.start)), td(pct(p.firm.availability), true),
      td(p.firm.nominalExceeded ? h('span', { title: t('nominalExceeded'), 'data-testid': 'nominal-exceeded' }, `${pct(p.firm.performance)} *`) : pct(p.firm.performance), true),
      td(pct(p.firm.quality), true), td(h('strong', null, pct(p.firm.oee)), true), td(pct(p.firm.loomEfficiency), true), td(pct(p.firm.loomEfficiencyScheduled), true),
      td(duration(p.firm.runningMs), true)))),
    periods.some((p) => p.firm.nominalExceeded) ? h('p', { class: 'muted small-text' }, `* ${t('nominalExceeded')}`) : '',
    h('p', { class: 'muted small-text' }, t('oeeHelp')));
}

export function renderRejected(body: HTMLElement, list: DeadLetter[], devices: Map<string, Device>): void {
  if (list.length === 0) {
    clear(body, h('p', { class: 'muted' }, t('noRejected')));
    return;
  }
  clear(body, h('div', { class: 'scroll' }, table([t('colTime'), t('colDevice'), t('colField'), t('colRule'), t('colReason')], list.map((d) => h('tr', { 'data-rejected': d.id },
    td(dateTime(d.receivedAt)), td(link(`#/device/${encodeURIComponent(d.deviceId)}`, devices.get(d.deviceId)?.name ?? d.deviceId)), td(h('code', null, d.field)), td(h('code', null, d.rule)), td(d.reason))), { class: 'rejected' })));
}

function shiftLabel(id: string, start: number): string {
  const [day, shift] = id.split('/');
  return shift && day ? `${day.slice(5)} ${shift}` : `${dateTime(start)}`;
}
