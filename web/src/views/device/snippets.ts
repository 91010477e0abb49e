// Copy-paste examples that publish one valid telemetry message for a device: a mosquitto_pub line, MQTT.js and
// Python paho-mqtt. Plain text, no DOM, so the contract validator can check the sample in a unit test.
import type { DeviceConnection, MetricSpec } from '../../types.ts';

/** What the examples need of a device type (the catalogue's entry, from the API or from common/contract). */
export interface TypeMetrics { metrics: ReadonlyArray<Pick<MetricSpec, 'name' | 'min' | 'max' | 'counter'>> }

/** Shown where the token goes once it is no longer known (it is shown only at provisioning). */
export const TOKEN_PLACEHOLDER = '<TOKEN>';
/** The CA file name the examples use: what GET /tls/ca.pem is saved as. */
export const CA_FILE = 'ca.pem';

export interface Snippets {
  mosquitto: string;
  mqttJs: string;
  python: string;
}

/** A round value inside the metric's plausible range (40 % of the way up). */
function sampleValue(m: Pick<MetricSpec, 'min' | 'max'>): number {
  const v = m.min + (m.max - m.min) * 0.4;
  return m.max - m.min >= 10 ? Number(v.toPrecision(2)) : Math.round(v * 10) / 10;
}

/**
 * Metrics of a valid sample: up to three gauges (a counter's first reading could look like a jump from an earlier
 * one, so counters only when the type has no gauge).
 */
export function sampleMetrics(spec: TypeMetrics): Record<string, number> {
  const gauges = spec.metrics.filter((m) => !m.counter);
  const chosen = gauges.length > 0 ? gauges.slice(0, 3) : spec.metrics.slice(0, 1);
  return Object.fromEntries(chosen.map((m) => [m.name, m.counter ? m.min : sampleValue(m)]));
}

/** Single-quoted for a POSIX shell. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Where the examples connect: MQTT over TLS when the platform offers it, else plain MQTT; none when unknown. */
export function exampleEndpoint(conn: DeviceConnection): DeviceConnection['urls'][number] | undefined {
  return conn.urls.find((u) => u.transport === 'mqtts') ?? conn.urls.find((u) => u.transport === 'mqtt');
}

export function snippets(conn: DeviceConnection, spec: TypeMetrics, token = TOKEN_PLACEHOLDER): Snippets | undefined {
  const at = exampleEndpoint(conn);
  if (!at) return undefined;
  const tls = at.transport === 'mqtts';
  const id = conn.deviceId;
  const metrics = JSON.stringify(sampleMetrics(spec));
  const { telemetry } = conn.publish;
  const { errors } = conn.subscribe;
  // ts is the device's clock in milliseconds: `date +%s` works in GNU, BSD and BusyBox shells.
  const mosquitto = ['mosquitto_pub', '-h', at.host, '-p', String(at.port), ...(tls ? ['--cafile', CA_FILE] : []),
    '-i', sh(id), '-u', sh(id), '-P', sh(token), '-q', '1', '-t', sh(telemetry),
    '-m', `${sh('{"ts":')}$(date +%s)000${sh(`,"seq":1,"metrics":${metrics}}`)}`].join(' ');
  const mqttJs = [
    ...(tls ? ["import fs from 'node:fs';"] : []),
    "import mqtt from 'mqtt';",
    '',
    `const client = mqtt.connect(${JSON.stringify(at.url)}, {`,
    `  clientId: ${JSON.stringify(id)}, username: ${JSON.stringify(id)}, password: ${JSON.stringify(token)},${tls ? ` ca: fs.readFileSync('${CA_FILE}'),` : ''}`,
    '});',
    "client.on('message', (topic, payload) => console.error('rejected:', payload.toString()));",
    "client.on('connect', () => {",
    `  client.subscribe(${JSON.stringify(errors)});`,
    `  const msg = { ts: Date.now(), seq: 1, metrics: ${metrics} };`,
    `  client.publish(${JSON.stringify(telemetry)}, JSON.stringify(msg), { qos: 1 }, () => setTimeout(() => client.end(), 2000));`,
    '});',
  ].join('\n');
  const python = [
    'import json, time',
    'import paho.mqtt.client as mqtt  # paho-mqtt 2.x',
    '',
    `c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=${JSON.stringify(id)})`,
    `c.username_pw_set(${JSON.stringify(id)}, ${JSON.stringify(token)})`,
    ...(tls ? [`c.tls_set(ca_certs="${CA_FILE}")`] : []),
    'c.on_message = lambda client, userdata, m: print("rejected:", m.payload.decode())',
    `c.connect(${JSON.stringify(at.host)}, ${at.port})`,
    'c.loop_start()',
    `c.subscribe(${JSON.stringify(errors)}, qos=1)`,
    `msg = {"ts": int(time.time() * 1000), "seq": 1, "metrics": ${metrics}}`,
    `c.publish(${JSON.stringify(telemetry)}, json.dumps(msg), qos=1).wait_for_publish()`,
    'time.sleep(2)',
    'c.loop_stop()',
    'c.disconnect()',
  ].join('\n');
  return { mosquitto, mqttJs, python };
}
