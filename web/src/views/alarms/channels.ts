// #/alarm-channels: where alarms are sent. Admins add 企业微信 and 钉钉 group robots, webhooks and e-mail (SMTP)
// with the fields each needs, send a test message, enable, disable or delete; the bureau reads. Each channel's
// delivery log (sent, failed and why, skipped) opens under it.
import { del, get, post, put } from '../../api.ts';
import { card, load, table, td } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { dateTime } from '../../format.ts';
import { tMaybe } from '../../i18n.ts';
import type { Firm } from '../../types.ts';
import type { ViewContext } from '../context.ts';
import { SEVERITIES } from './model.ts';
import { at, type AlarmTextKey } from './texts.ts';

const KINDS = ['wecom', 'dingtalk', 'webhook', 'email'] as const;
const LANGS = ['zh', 'en', 'both'] as const;

interface Channel {
  id: number; name: string; kind: string; url: string; hasSecret: boolean; firmId: string | null; minSeverity: string; quietFrom: number | null; quietTo: number | null;
  maxPerHour: number; dedupMinutes: number; notifyCleared: boolean; lang: string; enabled: boolean;
}
interface Delivery { id: number; alarmId: number; event: string; status: string; attempts: number; why: string | null; createdAt: number }

const input = (name: string, attrs: Record<string, string | number | boolean> = {}) => h('input', { name, spellcheck: 'false', autocomplete: 'off', ...attrs });
const field = (label: AlarmTextKey, control: HTMLElement) => h('label', { 'data-field': control.getAttribute('name') ?? '' }, h('span', null, at(label)), control);

/** The e-mail channel's URL from its fields: smtps://user@host:port?from=…&to=…. */
function smtpUrl(host: string, port: string, user: string, from: string, to: string): string {
  const q = new URLSearchParams({ from, to: to.split(/[,，;\s]+/).filter(Boolean).join(',') });
  return `${port === '465' || port === '' ? 'smtps' : 'smtp'}://${encodeURIComponent(user)}@${host}:${port || '465'}?${q.toString()}`;
}

function createForm(firms: Firm[], say: (text: string, error?: boolean) => void, done: () => void): HTMLFormElement {
  const name = input('name', { required: true, maxlength: 200 });
  const kind = h('select', { name: 'kind' }, ...KINDS.map((k) => h('option', { value: k }, at(`ch_${k}`))));
  const firm = h('select', { name: 'firmId' }, h('option', { value: '' }, at('ruleAllFirms')), ...firms.map((f) => h('option', { value: f.id }, f.name)));
  const severity = h('select', { name: 'minSeverity' }, ...SEVERITIES.map((s) => h('option', { value: s, selected: s === 'warning' }, tMaybe('sev_', s))));
  const lang = h('select', { name: 'lang' }, ...LANGS.map((l) => h('option', { value: l }, at(`lang_${l}`))));
  const url = input('url', { type: 'url', maxlength: 2000 });
  const secret = input('secret', { type: 'password', maxlength: 500 });
  const smtp = { host: input('smtpHost'), port: input('smtpPort', { type: 'number', value: 465 }), user: input('smtpUser'), from: input('smtpFrom', { type: 'email' }), to: input('smtpTo') };
  const cleared = input('notifyCleared', { type: 'checkbox', checked: true });
  const perHour = input('maxPerHour', { type: 'number', min: 1, max: 1000, value: 20 });
  const dedup = input('dedupMinutes', { type: 'number', min: 0, max: 1440, value: 10 });
  const urlLabel = h('span');
  const secretLabel = h('span');
  // Not the hidden attribute: the form's CSS gives every field a display of its own.
  const show = (el: HTMLElement, on: boolean) => { (el.closest('[data-field]') as HTMLElement).style.display = on ? '' : 'none'; };
  const sync = () => {
    const k = kind.value;
    urlLabel.textContent = at(k === 'wecom' ? 'chUrlWecom' : k === 'dingtalk' ? 'chUrlDingtalk' : 'chUrlWebhook');
    secretLabel.textContent = at(k === 'dingtalk' ? 'chSecretDingtalk' : k === 'email' ? 'chSmtpPassword' : 'chSecretWebhook');
    show(url, k !== 'email');
    show(secret, k !== 'wecom');
    for (const el of Object.values(smtp)) show(el, k === 'email');
  };
  kind.addEventListener('change', sync);
  const form = h('form', { class: 'onboard', 'data-testid': 'channel-create' },
    field('channelName', name), field('channelKind', kind), field('channelFirm', firm), field('channelMinSeverity', severity), field('chLang', lang),
    h('label', { 'data-field': 'url' }, urlLabel, url),
    field('chSmtpHost', smtp.host), field('chSmtpPort', smtp.port), field('chSmtpUser', smtp.user), field('chSmtpFrom', smtp.from), field('chSmtpTo', smtp.to),
    h('label', { 'data-field': 'secret' }, secretLabel, secret),
    field('chNotifyCleared', cleared), field('chMaxPerHour', perHour), field('chDedup', dedup),
    h('div', null, h('button', { type: 'submit', class: 'primary' }, at('chCreate'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = kind.value;
    const body = {
      name: name.value.trim(), kind: k, firmId: firm.value || null, minSeverity: severity.value, lang: lang.value,
      url: k === 'email' ? smtpUrl(smtp.host.value.trim(), smtp.port.value.trim(), smtp.user.value.trim(), smtp.from.value.trim(), smtp.to.value) : url.value.trim(),
      secret: k === 'wecom' ? null : secret.value || null, notifyCleared: cleared.checked, maxPerHour: Number(perHour.value), dedupMinutes: Number(dedup.value), enabled: true,
    };
    post<Channel>('/alarm-channels', body).then((c) => { say(at('chCreated', { name: c.name })); form.reset(); sync(); done(); }, (err) => say(at('failed', { message: err instanceof Error ? err.message : String(err) }), true));
  });
  sync();
  return form;
}

/** A text of this page for a value from the API, if there is one. */
function known(key: string): string | undefined {
  return KNOWN.has(key) ? at(key as AlarmTextKey) : undefined;
}
const KNOWN = new Set(['event_raised', 'event_cleared', 'event_acknowledged', 'del_sent', 'del_failed', 'del_skipped', 'del_pending']);

function deliveryTable(list: Delivery[]): HTMLElement {
  if (list.length === 0) return h('p', { class: 'muted' }, at('chNoDeliveries'));
  return table([at('delAt'), at('delAlarm'), at('delEvent'), at('delStatus'), at('delAttempts'), at('delWhy')], list.map((d) => h('tr', { 'data-delivery': d.id, 'data-status': d.status },
    td(dateTime(d.createdAt)), td(String(d.alarmId)), td(known(`event_${d.event}`) ?? d.event), td(known(`del_${d.status}`) ?? d.status), td(String(d.attempts), true), td(d.why ?? ''))));
}

export function mountAlarmChannels(root: HTMLElement, ctx: ViewContext): void {
  const admin = ctx.identity.role === 'admin';
  const list = card(at('channelsTitle'), { full: true });
  const status = h('p', { role: 'status', 'data-testid': 'channels-status', hidden: true });
  root.replaceChildren(h('div', { class: 'grid' }, list.el));
  if (ctx.identity.role === 'engineer') {
    list.body.replaceChildren(h('p', { class: 'error' }, at('forbidden')));
    return;
  }
  const create = admin ? card(at('channelNew'), { full: true }) : undefined;
  if (create) root.firstElementChild?.append(create.el);
  const say = (text: string, error = false) => { status.textContent = text; status.className = error ? 'error' : 'muted'; status.hidden = false; };
  const failed = (err: unknown) => say(at('failed', { message: err instanceof Error ? err.message : String(err) }), true);

  const row = (c: Channel, firms: Map<string, Firm>): HTMLTableRowElement[] => {
    const log = h('tr', { hidden: true, 'data-log': c.id }, h('td', { colspan: 7 }));
    const showLog = () => {
      log.hidden = !log.hidden;
      if (!log.hidden) void get<Delivery[]>(`/alarm-channels/${c.id}/deliveries?limit=50`).then((d) => clear(log.firstElementChild as HTMLElement, deliveryTable(d)), failed);
    };
    const test = (btn: HTMLButtonElement) => {
      btn.disabled = true;
      post<{ sent: boolean; why: string | null }>(`/alarm-channels/${c.id}/test`, {}).then((r) => say(r.sent ? at('chTestSent', { name: c.name }) : at('chTestFailed', { why: r.why ?? '' }), !r.sent), failed)
        .finally(() => { btn.disabled = false; });
    };
    const toggle = () => put<Channel>(`/alarm-channels/${c.id}`, { ...editable(c), enabled: !c.enabled }).then(refresh, failed);
    const remove = () => { if (window.confirm(at('chRemoveConfirm', { name: c.name }))) del<null>(`/alarm-channels/${c.id}`).then(refresh, failed); };
    const actions = h('span', { class: 'actions' },
      h('button', { type: 'button', class: 'link', 'data-action': 'deliveries', onclick: showLog }, at('chDeliveries')),
      admin ? h('span', null, ' ',
        h('button', { type: 'button', class: 'link', 'data-action': 'test', onclick: (ev: Event) => test(ev.currentTarget as HTMLButtonElement) }, at('chTest')), ' ',
        h('button', { type: 'button', class: 'link', 'data-action': c.enabled ? 'disable' : 'enable', onclick: () => { void toggle(); } }, c.enabled ? at('disable') : at('enable')), ' ',
        h('button', { type: 'button', class: 'link', 'data-action': 'delete', onclick: remove }, at('remove'))) : null);
    return [h('tr', { 'data-channel': c.id },
      td(c.name), td((KINDS as readonly string[]).includes(c.kind) ? at(`ch_${c.kind as (typeof KINDS)[number]}`) : c.kind), td(h('code', null, c.url)), td(c.firmId ? (firms.get(c.firmId)?.name ?? c.firmId) : at('ruleAllFirms')),
      td(tMaybe('sev_', c.minSeverity)), td(c.enabled ? at('on') : at('off')), td(actions)), log];
  };

  const refresh = (): void => {
    void load(ctx.scope, list.body, () => Promise.all([get<Channel[]>('/alarm-channels'), get<Firm[]>('/firms')]), ([channels, firms]) => {
      const byId = new Map(firms.map((f) => [f.id, f]));
      list.body.replaceChildren(status, table([at('channelName'), at('channelKind'), at('channelTarget'), at('channelFirm'), at('channelMinSeverity'), at('channelStatus'), at('ruleActions')],
        channels.flatMap((c) => row(c, byId)), { 'data-testid': 'alarm-channels' }));
      if (create && !create.body.querySelector('form')) create.body.replaceChildren(createForm(firms, say, refresh));
    });
  };
  refresh();
}

/** The body PUT wants (url and secret omitted: unchanged). */
function editable(c: Channel) {
  return { name: c.name, kind: c.kind, firmId: c.firmId, minSeverity: c.minSeverity, quietFrom: c.quietFrom, quietTo: c.quietTo, maxPerHour: c.maxPerHour, dedupMinutes: c.dedupMinutes, notifyCleared: c.notifyCleared, lang: c.lang, enabled: c.enabled };
}
