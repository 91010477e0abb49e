// The firm view's onboarding card: a form that provisions a device and shows its MQTT settings and token once.
// Open for the firm's own engineer, folded away for anyone else.
import { post } from '../../api.ts';
import { kv } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { pick, t } from '../../i18n.ts';
import type { Catalogue, Device, DeviceTypeSpec, Firm, ProvisionedDevice } from '../../types.ts';
import type { ViewContext } from '../context.ts';
import { connectionExamples, copyButton, tlsTrust } from '../device/connection.ts';
import { dx } from '../device/texts.ts';

export function onboardingCard(ctx: ViewContext, firm: Firm, cat: Catalogue, added: (d: Device) => void): HTMLElement {
  const typeSel = h('select', { name: 'type', required: true, 'data-testid': 'onboard-type' },
    ...cat.deviceTypes.map((d) => h('option', { value: d.type }, `${pick(d)} (${d.type})`)));
  const name = h('input', { name: 'name', required: true, maxlength: 200, autocomplete: 'off', 'data-testid': 'onboard-name' });
  const location = h('input', { name: 'location', maxlength: 200, autocomplete: 'off', 'data-testid': 'onboard-location' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('provision'));
  const result = h('div', { class: 'provision-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'onboard', 'data-testid': 'onboard-form' },
    h('p', { class: 'muted small-text' }, t('onboardHelp')),
    h('label', null, h('span', null, t('fieldType')), typeSel),
    h('label', null, h('span', null, t('fieldName')), name),
    h('label', null, h('span', null, t('fieldLocation')), location),
    h('div', null, submit), result);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    submit.textContent = t('provisioning');
    clear(result);
    post<ProvisionedDevice>(`/firms/${encodeURIComponent(firm.id)}/devices`, { type: typeSel.value, name: name.value.trim(), location: location.value.trim() })
      .then((d) => {
        if (!ctx.scope.alive) return;
        clear(result, credentials(d, cat.deviceTypes.find((x) => x.type === d.type)));
        name.value = '';
        location.value = '';
        const { token: _token, mqtt: _mqtt, ...device } = d;
        added(device);
      }, (err: unknown) => {
        clear(result, h('p', { class: 'error', 'data-testid': 'onboard-error' }, err instanceof Error ? err.message : String(err)));
      })
      .finally(() => {
        submit.disabled = false;
        submit.textContent = t('provision');
      });
  });
  const mine = ctx.identity.kind === 'engineer' && ctx.identity.firmId === firm.id;
  if (mine) return h('section', { class: 'card', id: 'onboard' }, h('header', { class: 'card-head' }, h('h2', null, t('onboardTitle'))), h('div', { class: 'card-body' }, form));
  return h('section', { class: 'card', id: 'onboard' }, h('details', null, h('summary', null, h('h2', { class: 'inline' }, t('onboardOthers'))), h('div', { class: 'card-body' }, form)));
}

/** Where the device connects, as the API says (its configured ports, TLS and WebSocket), one line per transport. */
function brokerUrls(d: ProvisionedDevice): HTMLElement {
  if (d.connect.urls.length === 0) return h('span', { class: 'muted' }, t('mqttBrokerNote'));
  return h('span', null, ...d.connect.urls.flatMap((u, i) => [
    ...(i > 0 ? [h('br')] : []), h('code', { 'data-testid': `broker-${u.transport}` }, u.url), ' ', h('span', { class: 'muted small-text' }, u.transport.toUpperCase()),
  ]));
}

function credentials(d: ProvisionedDevice, spec: DeviceTypeSpec | undefined): HTMLElement {
  const topics = [d.connect.publish.telemetry, d.connect.publish.state, d.connect.publish.status, d.connect.subscribe.errors];
  return h('div', { class: 'credentials', 'data-testid': 'provision-result', 'data-device': d.id },
    h('p', { class: 'warn' }, t('tokenOnce')),
    h('h3', null, t('mqttSettings')),
    kv([
      [t('mqttBroker'), brokerUrls(d)],
      [dx('connTls'), tlsTrust(d.connect)],
      [t('mqttClientId'), h('code', null, d.mqtt.clientId)],
      [t('mqttUsername'), h('code', null, d.mqtt.username)],
      [t('mqttPassword'), h('span', null, h('code', { class: 'token', 'data-testid': 'device-token' }, d.token), ' ', copyButton(d.token))],
      [t('mqttTopics'), h('span', null, ...topics.map((x) => h('code', { class: 'topic' }, x)))],
    ]),
    connectionExamples(d.connect, spec, d.token));
}
