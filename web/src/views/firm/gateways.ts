// The firm view's gateways card (网关): the firm's gateways with their devices, online state and last seen; for an
// admin or the firm's engineer also a form that registers one (picking the firm's devices), and per gateway: edit
// its device list, rotate its token (shown once), remove it. The bureau reads. A gateway publishes for the devices
// assigned to it with one MQTT credential (docs/gateway.md).
import { del, get, patch, post } from '../../api.ts';
import { card, kv, load, table, td, type Scope } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { ago } from '../../format.ts';
import { texts, t } from '../../i18n.ts';
import type { Device, Firm } from '../../types.ts';
import type { ViewContext } from '../context.ts';
import { copyButton } from '../device/connection.ts';
import { sparkplugMappingButton } from './sparkplug-mapping.ts';

const zh = {
  title: '网关',
  help: '网关（边缘网关、边缘节点）用一个 MQTT 身份为本企业指定的多台设备发布数据：clientId = 用户名 = 网关 ID，密码 = 网关令牌。平台只接受它为所列设备发布的消息。',
  none: '尚无网关。',
  colGateway: '网关',
  colDevices: '设备',
  colState: '连接',
  colLastSeen: '最近连接',
  colActions: '操作',
  online: '在线',
  offline: '离线',
  create: '新建网关',
  name: '名称',
  devices: '设备（本企业）',
  noDevices: '本企业尚无设备，请先接入设备。',
  submit: '创建',
  edit: '编辑设备',
  save: '保存',
  cancel: '取消',
  rotate: '轮换令牌',
  rotateConfirm: '轮换网关 {id} 的令牌？旧令牌立即失效，网关断开，需换上新令牌。',
  remove: '删除',
  removeConfirm: '删除网关 {id}？其令牌立即失效，网关断开；设备及其数据保留。该 ID 不可再用。',
  tokenOnce: '网关令牌只显示这一次，请立即复制到网关配置（gateway.token）中。',
  errorsTopic: '拒收原因（订阅）',
  publishTopics: '发布主题',
};

const en: Record<keyof typeof zh, string> = {
  title: 'Gateways',
  help: 'A gateway (edge gateway, edge node) publishes for several of the firm\'s devices with one MQTT identity: clientId = username = gateway id, password = gateway token. The platform accepts from it only messages for the devices listed.',
  none: 'No gateways yet.',
  colGateway: 'Gateway',
  colDevices: 'Devices',
  colState: 'Connection',
  colLastSeen: 'Last connected',
  colActions: 'Actions',
  online: 'online',
  offline: 'offline',
  create: 'New gateway',
  name: 'Name',
  devices: 'Devices (this firm)',
  noDevices: 'The firm has no devices yet: connect some first.',
  submit: 'Create',
  edit: 'Edit devices',
  save: 'Save',
  cancel: 'Cancel',
  rotate: 'Rotate token',
  rotateConfirm: 'Rotate the token of gateway {id}? The old token stops at once and the gateway is disconnected until it has the new one.',
  remove: 'Remove',
  removeConfirm: 'Remove gateway {id}? Its token stops at once and it is disconnected; its devices and their data stay. The id cannot be used again.',
  tokenOnce: 'The gateway token is shown only this once: copy it into the gateway configuration (gateway.token) now.',
  errorsTopic: 'Rejections (subscribe)',
  publishTopics: 'Publish topics',
};

const gx = texts({ zh, en });

interface Gateway {
  id: string;
  firmId: string;
  name: string;
  deviceIds: string[];
  tokenExpiresAt: number | null;
  createdAt: number;
  lastSeenAt: number | null;
  online: boolean;
}

interface ProvisionedGateway extends Gateway {
  token: string;
  mqtt: { username: string; clientId: string; errorsTopic: string; publishTopicPattern: string };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Checkboxes of the firm's devices, the given ones ticked. */
function devicePicker(devices: readonly Device[], ticked: readonly string[]): { el: HTMLElement; chosen: () => string[] } {
  if (devices.length === 0) return { el: h('p', { class: 'muted' }, gx('noDevices')), chosen: () => [] };
  const boxes = devices.map((d) => h('input', { type: 'checkbox', value: d.id, ...(ticked.includes(d.id) ? { checked: true } : {}) }));
  const el = h('div', { class: 'device-picker', 'data-testid': 'gateway-devices' },
    ...devices.map((d, i) => h('label', { class: 'check' }, boxes[i]!, ` ${d.name} `, h('span', { class: 'muted small-text' }, d.id))));
  return { el, chosen: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

/** What the gateway is told once: its credential and where it publishes and hears its rejections. */
function credentials(g: Pick<ProvisionedGateway, 'id' | 'token'> & Partial<ProvisionedGateway>): HTMLElement {
  return h('div', { class: 'credentials', 'data-testid': 'gateway-credentials', 'data-gateway': g.id },
    h('p', { class: 'warn' }, gx('tokenOnce')),
    kv([
      [t('mqttClientId'), h('code', null, g.id)],
      [t('mqttUsername'), h('code', null, g.id)],
      [t('mqttPassword'), h('span', null, h('code', { class: 'token', 'data-testid': 'gateway-token' }, g.token), ' ', copyButton(g.token))],
      ...(g.mqtt ? [[gx('publishTopics'), h('code', { class: 'topic' }, g.mqtt.publishTopicPattern)], [gx('errorsTopic'), h('code', { class: 'topic' }, g.mqtt.errorsTopic)]] as Array<[string, HTMLElement]> : []),
    ]));
}

export class GatewaysCard {
  readonly el: HTMLElement;
  private readonly list = h('div', { 'data-testid': 'gateway-list' });
  private readonly result = h('div', { class: 'provision-result', 'aria-live': 'polite' });
  private readonly formBox = h('div');
  private devices: Device[] = [];
  private gateways: Gateway[] = [];
  private readonly manage: boolean;
  private readonly path: string;

  constructor(ctx: ViewContext, private readonly firm: Firm, private readonly scope: Scope) {
    const c = card(gx('title'), { id: 'gateways', wide: true });
    this.el = c.el;
    this.manage = ctx.identity.role === 'admin' || (ctx.identity.kind === 'engineer' && ctx.identity.firmId === firm.id);
    this.path = `/firms/${encodeURIComponent(firm.id)}`;
    clear(c.body, h('p', { class: 'muted small-text' }, gx('help')), this.list, this.result, this.manage ? this.formBox : null);
  }

  /** Loads the firm's devices and gateways and draws both. */
  load(): void {
    void load(this.scope, this.list, () => Promise.all([get<Device[]>(`${this.path}/devices`), get<Gateway[]>(`${this.path}/gateways`)]), ([devices, gateways]) => {
      this.devices = [...devices].sort((a, b) => a.name.localeCompare(b.name, 'zh-CN') || a.id.localeCompare(b.id));
      this.gateways = gateways;
      this.render();
      // Drawn once: a reload after a change keeps nothing half-typed in it anyway (it was just submitted).
      if (this.manage && this.formBox.childElementCount === 0) clear(this.formBox, this.createForm());
    });
  }

  private render(): void {
    if (this.gateways.length === 0) {
      clear(this.list, h('p', { class: 'muted' }, gx('none')));
      return;
    }
    const name = (id: string) => this.devices.find((d) => d.id === id)?.name ?? id;
    const headers = [gx('colGateway'), gx('colDevices'), gx('colState'), gx('colLastSeen'), ...(this.manage ? [gx('colActions')] : [])];
    clear(this.list, table(headers, this.gateways.map((g) => h('tr', { 'data-gateway': g.id },
      td(h('span', null, g.name, h('span', { class: 'muted small-text' }, ` ${g.id}`), ' ',
        sparkplugMappingButton({ gatewayId: g.id, devices: this.devices.filter((d) => g.deviceIds.includes(d.id)), manage: this.manage, scope: this.scope }))),
      td(g.deviceIds.length === 0 ? h('span', { class: 'muted' }, t('none')) : h('span', null, g.deviceIds.map(name).join('、'))),
      td(h('span', null, h('span', { class: `dot ${g.online ? 'on' : 'off'}` }), ` ${g.online ? gx('online') : gx('offline')}`)),
      td(g.lastSeenAt === null ? '–' : ago(g.lastSeenAt)),
      ...(this.manage ? [td(this.actions(g))] : []),
    ))));
  }

  private actions(g: Gateway): HTMLElement {
    const button = (label: string, testid: string, run: () => void) => h('button', { type: 'button', class: 'link', 'data-testid': testid, onclick: run }, label);
    return h('span', { class: 'actions' },
      button(gx('edit'), 'gateway-edit', () => this.editDevices(g)), ' ',
      button(gx('rotate'), 'gateway-rotate', () => {
        if (!confirm(gx('rotateConfirm', { id: g.id }))) return;
        this.act(post<{ id: string; token: string }>(`/gateways/${encodeURIComponent(g.id)}/token`, {}), (r) => clear(this.result, credentials(r)));
      }), ' ',
      button(gx('remove'), 'gateway-remove', () => {
        if (!confirm(gx('removeConfirm', { id: g.id }))) return;
        this.act(del<null>(`/gateways/${encodeURIComponent(g.id)}`), () => clear(this.result));
      }));
  }

  /** Runs a change, then shows its outcome and reloads the list; an error is shown in place. */
  private act<T>(request: Promise<T>, done: (value: T) => void): void {
    request.then((v) => {
      if (!this.scope.alive) return;
      done(v);
      this.load();
    }, (err: unknown) => clear(this.result, h('p', { class: 'error', 'data-testid': 'gateway-error' }, errorText(err))));
  }

  private editDevices(g: Gateway): void {
    const picker = devicePicker(this.devices, g.deviceIds);
    const row = this.list.querySelector(`tr[data-gateway="${CSS.escape(g.id)}"]`);
    const editor = h('form', { class: 'onboard', 'data-testid': 'gateway-editor' }, picker.el,
      h('div', null, h('button', { type: 'submit', class: 'primary' }, gx('save')), ' ', h('button', { type: 'button', onclick: () => this.render() }, gx('cancel'))));
    editor.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.act(patch<Gateway>(`/gateways/${encodeURIComponent(g.id)}`, { deviceIds: picker.chosen() }), () => clear(this.result));
    });
    row?.after(h('tr', null, h('td', { colspan: String(row.children.length) }, editor)));
  }

  private createForm(): HTMLElement {
    const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off', 'data-testid': 'gateway-name' });
    const picker = devicePicker(this.devices, []);
    const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'gateway-submit' }, gx('submit'));
    const form = h('form', { class: 'onboard', 'data-testid': 'gateway-form' },
      h('h3', null, gx('create')),
      h('label', null, h('span', null, gx('name')), name),
      h('div', null, h('span', null, gx('devices')), picker.el),
      h('div', null, submit));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.act(post<ProvisionedGateway>(`${this.path}/gateways`, { name: name.value.trim(), deviceIds: picker.chosen() }), (g) => {
        clear(this.result, credentials(g));
        form.reset();
      });
    });
    return form;
  }
}
