// The firm view's edit card: admin and bureau change the firm's name, above-scale status and since when (小升规),
// smart-factory tier with its certificate, employees, land, park and county (the API lets only admin move a firm
// to another county); the firm's own engineer changes employees and land. Every change holds from a date and is
// audited by the API; only the fields changed are sent. Below the form, the firm's dated history.
import { get, patch } from '../../api.ts';
import { clear, h } from '../../dom.ts';
import { pick } from '../../i18n.ts';
import type { Firm, Places } from '../../types.ts';
import type { ViewContext } from '../context.ts';

/** The firm with the attributes the edit form shows beyond the list's. */
export type EditableFirm = Firm & { aboveScaleSince?: string | null; smartFactoryCertificateId?: string | null; smartFactoryCertifiedOn?: string | null };

const TIERS: ReadonlyArray<{ id: string; zh: string; en: string }> = [
  { id: 'none', zh: '无', en: 'none' }, { id: 'basic', zh: '基础级', en: 'basic' }, { id: 'advanced', zh: '先进级', en: 'advanced' },
  { id: 'excellent', zh: '卓越级', en: 'excellent' }, { id: 'leading', zh: '领航级', en: 'leading' },
];

/** The form's and the history's names of the firm's attributes. */
const LABELS: Readonly<Record<string, { zh: string; en: string }>> = {
  name: { zh: '企业名称', en: 'Name' }, aboveScale: { zh: '规上企业', en: 'Above-scale' },
  aboveScaleSince: { zh: '规上起始日期', en: 'Above-scale since' },
  smartFactoryTier: { zh: '智能工厂等级', en: 'Smart-factory tier' },
  smartFactoryCertificateId: { zh: '证书编号', en: 'Certificate number' },
  smartFactoryCertifiedOn: { zh: '认定日期', en: 'Certified on' }, county: { zh: '县市（仅管理员）', en: 'County (admin only)' },
  park: { zh: '园区', en: 'Park' }, employees: { zh: '从业人数', en: 'Employees' },
  landMu: { zh: '用地（亩）', en: 'Land (mu)' }, validFrom: { zh: '生效日期（默认今天）', en: 'Valid from (default today)' },
  note: { zh: '说明', en: 'Note' },
};
const label = (name: string): string => { const l = LABELS[name]; return l ? pick(l) : name; };

type Field = HTMLInputElement | HTMLSelectElement;
const input = (name: string, value: string | number | null | undefined, attrs: Record<string, string> = {}) =>
  h('input', { name, value: value === null || value === undefined ? '' : String(value), 'data-field': name, ...attrs });
const select = (name: string, value: string, options: Array<{ id: string; label: string }>) => {
  const s = h('select', { name, 'data-field': name }, ...options.map((o) => h('option', { value: o.id, ...(o.id === value ? { selected: 'selected' } : {}) }, o.label)));
  s.value = value;
  return s;
};

/** What the form says differs from the firm: the PATCH body (empty strings clear a nullable field). */
function changedFields(firm: EditableFirm, fields: Field[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const el of fields) {
    const name = el.name;
    const raw = el instanceof HTMLInputElement && el.type === 'checkbox' ? el.checked : el.value.trim();
    const old = (firm as unknown as Record<string, unknown>)[name] ?? null;
    let value: unknown = raw;
    if (name === 'employees') value = Number(raw);
    else if (name === 'landMu') value = Number(raw);
    else if (raw === '') value = null;
    if (name === 'validFrom' || name === 'note') { if (value !== null) out[name] = value; continue; }
    if (value !== old) out[name] = value;
  }
  return out;
}

interface FirmVersion { id: number; validFrom: string; recordedBy: string; changes: Record<string, unknown> }

/** The firm's versions, newest first: from when, who, what. */
function historyList(firmId: string, box: HTMLElement): void {
  get<FirmVersion[]>(`/firms/${encodeURIComponent(firmId)}/history`).then((versions) => {
    clear(box, h('h3', null, pick({ zh: '修改记录', en: 'History' })), h('ul', { class: 'firm-history small-text', 'data-testid': 'firm-history' },
      ...[...versions].reverse().map((v) => h('li', { 'data-version': String(v.id) },
        h('strong', null, v.validFrom), ' ',
        v.recordedBy === 'registration' ? pick({ zh: '登记', en: 'registration' }) : Object.entries(v.changes).map(([k, x]) => `${label(k).replace(/（.*）| \(.*\)/, '')} = ${x === null ? '–' : String(x)}`).join(', '),
        h('span', { class: 'muted' }, ` · ${v.recordedBy}`)))));
  }, (err: unknown) => { clear(box, h('p', { class: 'error' }, err instanceof Error ? err.message : String(err))); });
}

export function firmEditCard(ctx: ViewContext, firm: EditableFirm, pl: Places): HTMLElement {
  const engineer = ctx.identity.kind === 'engineer';
  const fields: Field[] = [];
  const add = (el: Field) => { fields.push(el); return h('label', null, h('span', null, label(el.name)), el); };
  const rows = [
    ...(engineer ? [] : [
      add(input('name', firm.name, { maxlength: '200' })),
      add(input('aboveScale', null, { type: 'checkbox', ...(firm.aboveScale ? { checked: 'checked' } : {}) })),
      add(input('aboveScaleSince', firm.aboveScaleSince, { type: 'date' })),
      add(select('smartFactoryTier', firm.smartFactoryTier, TIERS.map((x) => ({ id: x.id, label: pick(x) })))),
      add(input('smartFactoryCertificateId', firm.smartFactoryCertificateId, { maxlength: '64' })),
      add(input('smartFactoryCertifiedOn', firm.smartFactoryCertifiedOn, { type: 'date' })),
      add(select('county', firm.county, pl.counties.map((c) => ({ id: c.code, label: pick(c) })))),
      add(select('park', firm.park, pl.parks.map((p) => ({ id: p.id, label: pick(p) })))),
    ]),
    add(input('employees', firm.employees, { type: 'number', min: '0', max: '100000', step: '1' })),
    add(input('landMu', firm.landMu, { type: 'number', min: '0', step: '0.1' })),
    add(input('validFrom', null, { type: 'date' })),
    add(input('note', null, { maxlength: '500' })),
  ];
  const submit = h('button', { type: 'submit', class: 'primary' }, pick({ zh: '保存修改', en: 'Save changes' }));
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'firm-edit-result' });
  const form = h('form', { class: 'onboard', 'data-testid': 'firm-edit-form' },
    h('p', { class: 'muted small-text' }, engineer
      ? pick({ zh: '企业工程师可修改本企业的从业人数和用地；其他信息由工信局维护。每次修改都会记录日期和操作人。', en: 'Engineers may change their firm\'s employees and land; the bureau keeps the rest. Every change is dated and audited.' })
      : pick({ zh: '每次修改都按生效日期记入企业历史并写入审计日志；月度趋势按各月当时的企业状态计算。', en: 'Every change is kept in the firm\'s history from its date and audited; the monthly trend uses each firm as it was that month.' })),
    ...rows, h('div', null, submit), result);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = changedFields(firm, fields);
    submit.disabled = true;
    clear(result);
    patch<EditableFirm>(`/firms/${encodeURIComponent(firm.id)}`, body).then(() => {
      if (ctx.scope.alive) ctx.remount();
    }, (err: unknown) => {
      clear(result, h('p', { class: 'error', 'data-testid': 'firm-edit-error' }, err instanceof Error ? err.message : String(err)));
    }).finally(() => { submit.disabled = false; });
  });
  const history = h('div', { class: 'firm-history-box' });
  const details = h('details', null, h('summary', null, h('h2', { class: 'inline' }, pick({ zh: '修改企业信息', en: 'Edit firm' }))), h('div', { class: 'card-body' }, form, history));
  details.addEventListener('toggle', () => { if (details.open) historyList(firm.id, history); });
  return h('section', { class: 'card', id: 'firm-edit' }, details);
}
