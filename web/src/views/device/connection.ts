// The device page's connection panel: host and ports as configured, the CA to trust when TLS is on, the topics,
// and copy-paste examples (mosquitto_pub, MQTT.js, Python) that publish one valid message. The provisioning form
// shows the same examples with the token filled in, the one time it is known.
import { kv } from '../../components.ts';
import { h } from '../../dom.ts';
import { t } from '../../i18n.ts';
import type { DeviceConnection, DeviceTypeSpec } from '../../types.ts';
import { CA_FILE, snippets } from './snippets.ts';
import { dx } from './texts.ts';

export function copyButton(text: string, testId?: string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'small', ...(testId ? { 'data-testid': testId } : {}) }, t('copy'));
  b.addEventListener('click', () => {
    void navigator.clipboard?.writeText(text).then(() => { b.textContent = t('copied'); }, () => {});
  });
  return b;
}

/** MQTT 1883 · MQTTS 8883 · WS 8080 (/mqtt): each transport the platform offers, with its URL on hover. */
function ports(conn: DeviceConnection): HTMLElement {
  return h('span', null, ...conn.urls.flatMap((u, i) => [
    ...(i > 0 ? [' · '] : []),
    h('span', { title: u.url, 'data-testid': `port-${u.transport}` }, `${u.transport.toUpperCase()} `, h('code', null, String(u.port)),
      u.transport.startsWith('ws') ? h('span', { class: 'muted small-text' }, ` (${new URL(u.url).pathname})`) : null),
  ]));
}

/** The CA download when TLS is on and a CA is configured, else why there is none. */
export function tlsTrust(conn: DeviceConnection): HTMLElement {
  if (conn.caUrl) {
    return h('a', { href: conn.caUrl, download: CA_FILE, 'data-testid': 'ca-download' }, dx('connCaDownload'));
  }
  const tls = conn.urls.some((u) => u.transport === 'mqtts' || u.transport === 'wss');
  return h('span', { class: 'muted' }, tls ? dx('connCaTrusted') : dx('connNoTls'));
}

function topicCodes(...topics: string[]): HTMLElement {
  return h('span', null, ...topics.map((x) => h('code', { class: 'topic' }, x)));
}

/** Host, ports, identity, TLS and topics of a device. */
export function connectionFacts(conn: DeviceConnection): HTMLElement {
  const host = conn.urls.find((u) => u.transport === 'mqtt')?.host ?? conn.urls[0]?.host;
  return kv([
    [dx('connHost'), host ? h('code', { 'data-testid': 'conn-host' }, host) : h('span', { class: 'muted' }, t('mqttBrokerNote'))],
    [dx('connPorts'), ports(conn)],
    [dx('connCredentials'), dx('connCredentialsValue', { id: conn.deviceId })],
    [dx('connTls'), tlsTrust(conn)],
    [dx('connPublish'), topicCodes(conn.publish.telemetry, conn.publish.state, conn.publish.status)],
    [dx('connSubscribe'), topicCodes(conn.subscribe.errors)],
  ]);
}

/** The three examples, each with its copy button; the token filled in when known. */
export function connectionExamples(conn: DeviceConnection, spec: DeviceTypeSpec | undefined, token?: string): HTMLElement | null {
  const s = spec ? snippets(conn, spec, token) : undefined;
  if (!s) return null;
  const block = (name: string, label: string, text: string) => h('div', { class: 'snippet' },
    h('div', { class: 'snippet-head' }, h('strong', null, label), ' ', copyButton(text, `copy-${name}`)),
    h('pre', null, h('code', { 'data-testid': `snippet-${name}` }, text)));
  return h('div', { class: 'examples', 'data-testid': 'conn-examples' },
    h('h3', null, dx('connExamples')),
    h('p', { class: 'muted small-text' }, token ? dx('connTokenFilled') : dx('connTokenNote')),
    block('mosquitto', dx('exMosquitto'), s.mosquitto),
    block('mqttjs', dx('exMqttJs'), s.mqttJs),
    block('python', dx('exPython'), s.python));
}
