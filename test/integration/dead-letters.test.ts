// Dead letters, late and replayed data, and sequence completeness, through the real broker and influxd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { waitFor } from '../../scripts/net.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';

let sys: TestSystem;
before(async () => { sys = await startTestSystem({ admission: { deadLettersPerMinute: 25 } }); });
after(async () => { await sys.close(); });

async function firmWith(n: number) {
  const firm = testFirm();
  await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm);
  const creds: DeviceCredentials[] = [];
  for (let i = 0; i < n; i++) creds.push(await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'loom', `l${i}`));
  return { firm, creds };
}
const connect = (c: DeviceCredentials) => mqtt.connectAsync(sys.mqttUrl, { clientId: c.id, username: c.id, password: c.token, reconnectPeriod: 0 });

test('a flood of bad messages from one device is counted in full, kept only up to the per-minute limit, and the good device beside it loses nothing', async () => {
  const { firm, creds } = await firmWith(2);
  const [bad, good] = creds as [DeviceCredentials, DeviceCredentials];
  const [b, g] = await Promise.all([connect(bad), connect(good)]);
  const base = Date.now() - 600_000;
  const flood = Array.from({ length: 1000 }, (_, i) => b.publishAsync(topicFor(firm.id, bad.id, 'telemetry'), `{"ts": ${base + i}, "seq": ${i}, "metrics": {"speed_rpm": "fast"}}`, { qos: 1 }));
  const calm = Array.from({ length: 100 }, (_, i) => g.publishAsync(topicFor(firm.id, good.id, 'telemetry'), JSON.stringify({ ts: base + i * 1000, seq: i, metrics: { speed_rpm: 600 } }), { qos: 1 }));
  await Promise.all([...flood, ...calm]);
  await Promise.all([b.endAsync(), g.endAsync()]);
  await sys.drained();
  assert.equal(await sys.countPoints('loom', good.id), 100);
  assert.equal(await sys.countPoints('loom', bad.id), 0);
  const kept = await api<unknown[]>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected?deviceId=${bad.id}&limit=1000`);
  assert.ok(kept.body.length >= 25 && kept.body.length <= 50, `kept ${kept.body.length} (25 per minute; the flood may straddle a minute)`);
  const summary = await api<Array<{ deviceId: string; rule: string; count: number }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected/summary`);
  assert.deepEqual(summary.body.map((r) => [r.deviceId, r.rule, r.count]), [[bad.id, 'type', 1000]]);
});

test('store-and-forward: an old batch is accepted in order, a replay overwrites instead of doubling, and completeness shows the gap', async () => {
  const { firm, creds } = await firmWith(1);
  const c = creds[0]!;
  const client = await connect(c);
  const dayAgo = Date.now() - 86_400_000;
  const points = (seqs: number[]) => ({ points: seqs.map((s) => ({ ts: dayAgo + s * 60_000, seq: s, metrics: { speed_rpm: 500 + s } })) });
  // seq 0-49 except 20-29, sent twice (a device replaying its buffer after an outage).
  const seqs = Array.from({ length: 50 }, (_, i) => i).filter((i) => i < 20 || i >= 30);
  await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), JSON.stringify(points(seqs)), { qos: 1 });
  await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), JSON.stringify(points(seqs)), { qos: 1 });
  await client.endAsync();
  await sys.drained();
  const r = await api<{ points: Array<{ ts: number; value: number }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/telemetry?metric=speed_rpm&from=${dayAgo - 1}&to=${Date.now()}`);
  assert.equal(r.body.points.length, 40, 'the replay overwrote the same points');
  assert.deepEqual(r.body.points.slice(18, 22).map((p) => p.value), [518, 519, 530, 531]);
  type Status = { completeness: { received: number; expected: number; missing: number } };
  await waitFor(async () => (await api<Status>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/status`)).body.completeness.expected > 0, 5000, 'completeness recorded');
  const s = (await api<Status>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/status`)).body;
  assert.deepEqual(s.completeness, { received: 40, expected: 50, missing: 10, ratio: 0.8 } as unknown as Status['completeness']);
});

test('a device clock too far ahead is rejected with a reason, and the skew of a live message is recorded', async () => {
  const { firm, creds } = await firmWith(1);
  const c = creds[0]!;
  const client = await connect(c);
  await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), JSON.stringify({ ts: Date.now() + 3_600_000, seq: 1, metrics: { speed_rpm: 1 } }), { qos: 1 });
  await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), JSON.stringify({ ts: Date.now() + 90_000, seq: 2, metrics: { speed_rpm: 1 } }), { qos: 1 });
  await client.endAsync();
  await sys.drained();
  assert.equal(await sys.countPoints('loom', c.id), 1, 'within the 5-minute bound: stored as sent');
  const dead = await api<Array<{ rule: string; reason: string }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected`);
  assert.equal(dead.body[0]?.rule, 'clock-ahead');
  assert.match(dead.body[0]!.reason, /set the device clock/);
  await waitFor(async () => ((await api<{ clockSkewMs: number | null }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/status`)).body.clockSkewMs ?? 0) > 80_000, 5000, 'skew recorded');
});
