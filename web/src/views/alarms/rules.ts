// #/alarm-rules: the alarm rules a person may see (engineers: the global ones and their firm's), enabled or
// disabled in the list, created and edited in a form per kind with a 7-day preview before saving; below, the
// open alarms, updated live, so a saved rule is seen taking effect.
import { del, get, put, catalogue } from '../../api.ts';
import { AlarmList, card, load, table, td } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { pick, tMaybe } from '../../i18n.ts';
import { feed } from '../../live.ts';
import type { Alarm, Catalogue, Firm } from '../../types.ts';
import type { ViewContext } from '../context.ts';
import { FORM_KINDS, conditionText, kindText, type AlarmRule } from './model.ts';
import { ruleForm } from './rule-form.ts';
import { at } from './texts.ts';

interface Loaded { rules: AlarmRule[]; cat: Catalogue; firms: Firm[] }

export function mountAlarmRules(root: HTMLElement, ctx: ViewContext): void {
  const who = ctx.identity;
  const ownFirm = who.role === 'engineer' ? (who.firmId ?? null) : null;
  const list = card(at('rulesTitle'), { full: true });
  const edit = card(at('ruleNew'), { full: true });
  const alarms = card(at('openAlarms'), { full: true, id: 'rules-alarms' });
  const status = h('p', { role: 'status', 'data-testid': 'rules-status', hidden: true });
  edit.el.hidden = true;
  root.replaceChildren(h('div', { class: 'grid' }, list.el, edit.el, alarms.el));
  let data: Loaded | undefined;

  const say = (text: string, error = false) => { status.textContent = text; status.className = error ? 'error' : 'muted'; status.hidden = false; };
  const failed = (err: unknown) => say(at('failed', { message: err instanceof Error ? err.message : String(err) }), true);
  const writable = (r: AlarmRule) => ownFirm === null || r.firmId === ownFirm;
  const firmName = (id: string | null) => id === null ? at('ruleAllFirms') : (data?.firms.find((f) => f.id === id)?.name ?? id);

  const openForm = (rule?: AlarmRule) => {
    if (!data) return;
    edit.title.textContent = rule ? at('ruleEdit', { name: rule.name }) : at('ruleNew');
    edit.el.hidden = false;
    clear(edit.body, ruleForm({
      catalogue: data.cat, firms: data.firms, ownFirm, ...(rule ? { rule } : {}),
      onSaved: (saved) => { edit.el.hidden = true; say(`${at('saved')} (${saved.name})`); refresh(); },
      onCancel: () => { edit.el.hidden = true; },
    }));
    edit.el.scrollIntoView({ block: 'start' });
  };

  const row = (r: AlarmRule, d: Loaded): HTMLTableRowElement => {
    const toggle = () => put<AlarmRule>(`/alarm-rules/${r.id}`, { ...bodyOf(r), enabled: !r.enabled }).then(refresh, failed);
    const remove = () => { if (window.confirm(at('removeConfirm', { name: r.name }))) del<null>(`/alarm-rules/${r.id}`).then(refresh, failed); };
    const actions = writable(r)
      ? h('span', { class: 'actions' },
        h('button', { type: 'button', class: 'link', 'data-action': r.enabled ? 'disable' : 'enable', onclick: () => { void toggle(); } }, r.enabled ? at('disable') : at('enable')), ' ',
        (FORM_KINDS as readonly string[]).includes(r.kind) ? h('button', { type: 'button', class: 'link', 'data-action': 'edit', onclick: () => openForm(r) }, at('edit')) : null, ' ',
        h('button', { type: 'button', class: 'link', 'data-action': 'delete', onclick: remove }, at('remove')))
      : h('span', { class: 'muted small-text' }, at('readOnly'));
    const type = r.deviceType ? (d.cat.deviceTypes.find((x) => x.type === r.deviceType) ?? null) : null;
    const scope = [firmName(r.firmId), type ? pick(type) : at('ruleAllTypes'), r.deviceId].filter(Boolean).join(' · ');
    return h('tr', { 'data-rule': r.id, 'data-enabled': String(r.enabled) },
      td(r.name), td(kindText(r.kind)), td(scope), td(conditionText(d.cat, r)), td(h('span', { class: `pill sev-${r.severity}` }, tMaybe('sev_', r.severity))),
      td(r.enabled ? at('on') : at('off')), td(actions));
  };

  const refresh = (): void => {
    void load(ctx.scope, list.body, () => Promise.all([get<AlarmRule[]>('/alarm-rules'), catalogue(), get<Firm[]>('/firms')]), ([rules, cat, firms]) => {
      const d = { rules, cat, firms };
      data = d;
      const headers = [at('ruleName'), at('ruleKind'), at('ruleScope'), at('ruleCondition'), at('ruleSeverity'), at('ruleEnabled'), at('ruleActions')];
      list.body.replaceChildren(status, table(headers, rules.map((r) => row(r, d)), { 'data-testid': 'alarm-rules' }));
    });
  };
  list.extra.append(h('button', { type: 'button', class: 'primary', 'data-testid': 'rule-new', onclick: () => openForm() }, at('ruleNew')));
  refresh();

  const alarmList = new AlarmList(() => true);
  ctx.scope.add(feed.alarm.on((ev) => alarmList.apply(ev)));
  void load(ctx.scope, alarms.body, () => get<Alarm[]>('/alarms?status=open&limit=100'), (open) => { alarmList.set(open); clear(alarms.body, alarmList.el); });
}

/** The body PUT wants: the rule without its bookkeeping. */
function bodyOf(r: AlarmRule) {
  return {
    name: r.name, kind: r.kind, firmId: r.firmId, deviceType: r.deviceType, deviceId: r.deviceId, metric: r.metric, op: r.op, value: r.value,
    states: r.states, windowS: r.windowS, durationS: r.durationS, severity: r.severity, enabled: r.enabled,
  };
}
