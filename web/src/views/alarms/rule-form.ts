// The form of one alarm rule (new or edited), per kind: the metric picked from the catalogue by its name and unit.
// Saving needs a preview of the very condition being saved: how often it would have fired over the last 7 days.
import { ApiError, post, put } from '../../api.ts';
import { h, clear } from '../../dom.ts';
import { dateTime, num } from '../../format.ts';
import { pick, tMaybe } from '../../i18n.ts';
import type { Catalogue, Firm } from '../../types.ts';
import { FORM_KINDS, OPS, SEVERITIES, kindText, unitOf, type AlarmRule, type RuleBody, type RulePreview } from './model.ts';
import { at } from './texts.ts';

export interface RuleFormOptions {
  catalogue: Catalogue;
  firms: Firm[];
  /** An engineer's firm: rules are theirs only. */
  ownFirm: string | null;
  rule?: AlarmRule;
  onSaved(rule: AlarmRule): void;
  onCancel(): void;
}

const option = (value: string, text: string, selected: boolean) => h('option', { value, selected }, text);
const field = (label: string, control: HTMLElement, name: string) => h('label', { 'data-field': name }, h('span', null, label), control);

/** What decides how often a rule fires: a preview stays valid while these are unchanged. */
const conditionKey = (b: RuleBody) => JSON.stringify([b.kind, b.firmId, b.deviceType, b.deviceId, b.metric, b.op, b.value, b.states, b.windowS, b.durationS]);

function renderPreview(box: HTMLElement, p: RulePreview, cat: Catalogue, body: RuleBody): void {
  const days = Math.round((p.to - p.from) / 86_400_000);
  const unit = unitOf(cat, body);
  const episode = (e: RulePreview['devices'][number]['episodes'][number]) =>
    `${dateTime(e.start)} – ${e.end === null ? at('previewOngoing') : dateTime(e.end)}${e.peak === null ? '' : ` (${num(e.peak, 2)} ${unit})`}`;
  const rows = p.devices.filter((d) => d.fired > 0).slice(0, 20).map((d) => h('tr', { 'data-device': d.deviceId },
    h('td', null, d.name ? `${d.name} (${d.deviceId})` : d.deviceId), h('td', { class: 'num' }, String(d.fired)),
    h('td', null, d.episodes.map(episode).join('；'))));
  clear(box,
    h('p', { 'data-testid': 'preview-fired', 'data-fired': p.fired, class: p.fired > 0 ? 'warn' : 'muted' },
      at('previewFired', { n: p.fired, days, devices: p.devicesEvaluated, points: p.pointsRead })),
    ...p.notes.map((n) => h('p', { class: 'muted', 'data-testid': 'preview-note' }, pick(n))),
    rows.length > 0 ? h('table', { class: 'data' }, h('thead', null, h('tr', null, h('th', null, at('previewDevice')), h('th', { class: 'num' }, at('previewCount')), h('th', null, at('previewEpisodes')))), h('tbody', null, ...rows)) : null);
}

export function ruleForm(o: RuleFormOptions): HTMLFormElement {
  const r = o.rule;
  const cat = o.catalogue;
  const name = h('input', { name: 'name', required: true, maxlength: 200, value: r?.name ?? '' });
  const kind = h('select', { name: 'kind' }, ...FORM_KINDS.map((k) => option(k, kindText(k), (r?.kind ?? 'threshold') === k)));
  const firm = h('select', { name: 'firmId', disabled: o.ownFirm !== null },
    o.ownFirm === null ? option('', at('ruleAllFirms'), !r?.firmId) : null,
    ...o.firms.filter((f) => o.ownFirm === null || f.id === o.ownFirm).map((f) => option(f.id, f.name, (r?.firmId ?? o.ownFirm) === f.id)));
  const type = h('select', { name: 'deviceType' }, option('', at('ruleAllTypes'), !r?.deviceType), ...cat.deviceTypes.map((d) => option(d.type, pick(d), r?.deviceType === d.type)));
  const device = h('input', { name: 'deviceId', maxlength: 64, value: r?.deviceId ?? '', spellcheck: 'false' });
  const metric = h('select', { name: 'metric' });
  const op = h('select', { name: 'op' }, ...OPS.map((x) => option(x, x, (r?.op ?? '>') === x)));
  const value = h('input', { name: 'value', type: 'number', step: 'any', value: r?.value ?? '' });
  const unit = h('span', { class: 'muted', 'data-testid': 'value-unit' });
  const windowS = h('input', { name: 'windowS', type: 'number', min: 10, max: 3600, value: r?.windowS || 60 });
  const durationS = h('input', { name: 'durationS', type: 'number', min: 0, max: 2_592_000, value: r?.durationS ?? 0 });
  const states = h('span', { class: 'checks' }, ...cat.states.map((s) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', value: s, checked: (r?.states ?? ['fault']).includes(s) }), tMaybe('state_', s))));
  const severity = h('select', { name: 'severity' }, ...SEVERITIES.map((s) => option(s, tMaybe('sev_', s), (r?.severity ?? 'warning') === s)));
  const enabled = h('input', { name: 'enabled', type: 'checkbox', checked: r?.enabled ?? true });
  const valueLabel = h('span');
  const previewBox = h('div', { 'data-testid': 'preview-result' }, h('p', { class: 'muted' }, at('previewNeeded')));
  const status = h('p', { role: 'status', 'data-testid': 'rule-status', hidden: true });
  const previewBtn = h('button', { type: 'button', 'data-testid': 'rule-preview' }, at('preview'));
  const saveBtn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'rule-save', disabled: true }, at('save'));
  let previewed: string | undefined;

  const body = (): RuleBody => {
    const k = kind.value;
    const usesMetric = k === 'threshold' || k === 'rate' || k === 'stuck';
    return {
      name: name.value.trim(), kind: k, firmId: o.ownFirm ?? (firm.value || null), deviceType: type.value || null, deviceId: device.value.trim() || null,
      metric: usesMetric ? metric.value || null : null, op: k === 'threshold' || k === 'rate' ? op.value : null,
      value: k === 'state' || value.value === '' ? null : Number(value.value),
      states: k === 'state' ? [...states.querySelectorAll<HTMLInputElement>('input:checked')].map((c) => c.value) : null,
      windowS: k === 'rate' ? Number(windowS.value) : 60, durationS: k === 'offline' ? 0 : Number(durationS.value), severity: severity.value, enabled: enabled.checked,
    };
  };
  const sync = () => {
    const k = kind.value;
    const spec = cat.deviceTypes.find((d) => d.type === type.value);
    const current = metric.value || r?.metric || '';
    clear(metric, ...(spec?.metrics ?? []).map((m) => option(m.name, `${pick(m)}${m.unit ? ` (${m.unit})` : ''}`, m.name === current)));
    // Not the hidden attribute: the form's CSS gives every field a display of its own.
    const show = (el: HTMLElement, on: boolean) => { (el.closest('[data-field]') as HTMLElement).style.display = on ? '' : 'none'; };
    show(metric, k === 'threshold' || k === 'rate' || k === 'stuck');
    show(op, k === 'threshold' || k === 'rate');
    show(value, k !== 'state');
    show(windowS, k === 'rate');
    show(durationS, k !== 'offline');
    show(states, k === 'state');
    valueLabel.textContent = k === 'rate' ? at('ruleValueRate') : k === 'stuck' ? at('ruleValueStuck') : k === 'offline' ? at('ruleValueOffline') : at('ruleValue');
    unit.textContent = unitOf(cat, body());
    saveBtn.disabled = previewed !== conditionKey(body());
  };
  const fail = (err: unknown) => {
    status.hidden = false;
    status.className = 'error';
    status.textContent = at('failed', { message: err instanceof ApiError || err instanceof Error ? err.message : String(err) });
  };
  previewBtn.addEventListener('click', () => {
    const b = body();
    status.hidden = true;
    previewBtn.disabled = true;
    clear(previewBox, h('p', { class: 'muted' }, at('previewRunning')));
    post<RulePreview>('/alarm-rules/preview', { ...b, days: 7 }).then((p) => {
      renderPreview(previewBox, p, cat, b);
      previewed = conditionKey(b);
      sync();
    }, (err) => { clear(previewBox); fail(err); }).finally(() => { previewBtn.disabled = false; });
  });
  const form = h('form', { class: 'onboard', 'data-testid': 'rule-form' },
    field(at('ruleName'), name, 'name'), field(at('ruleKind'), kind, 'kind'), field(at('ruleFirm'), firm, 'firm'), field(at('ruleDeviceType'), type, 'deviceType'),
    field(at('ruleDevice'), device, 'deviceId'), field(at('ruleMetric'), metric, 'metric'), field(at('ruleOp'), op, 'op'),
    h('label', { 'data-field': 'value' }, valueLabel, h('span', { class: 'with-unit' }, value, ' ', unit)),
    field(at('ruleWindow'), windowS, 'windowS'), field(at('ruleDuration'), durationS, 'durationS'), h('div', { 'data-field': 'states' }, h('span', { class: 'muted' }, at('ruleStates')), ' ', states),
    field(at('ruleSeverity'), severity, 'severity'), field(at('ruleEnabled'), enabled, 'enabled'),
    h('div', null, previewBtn, ' ', saveBtn, ' ', h('button', { type: 'button', class: 'link', onclick: () => o.onCancel() }, at('cancel'))),
    previewBox, status);
  form.addEventListener('input', sync);
  form.addEventListener('change', sync);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const b = body();
    if (previewed !== conditionKey(b)) return;
    saveBtn.disabled = true;
    (r ? put<AlarmRule>(`/alarm-rules/${r.id}`, b) : post<AlarmRule>('/alarm-rules', b)).then((saved) => o.onSaved(saved), (err) => { fail(err); sync(); });
  });
  sync();
  return form;
}
