// Alarm rules and channels in the page, in a real headless Chromium against the whole system in-process (real
// influxd, broker, writer, an API with its Monitoring): a threshold rule edited in the page shows how often it
// would have fired over the stored last 7 days, is saved, and takes effect without a restart: a violating
// message published with mosquitto_pub raises an alarm that appears on the page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { signIn, startWebApi, withBrowser, type WebApi } from '../helpers/browser.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';

const run = promisify(execFile);
const MIN = 60_000;
let sys: TestSystem;
let web: WebApi;
let firmId: string;
let dyer: DeviceCredentials;

before(async () => {
  sys = await startTestSystem();
  web = await startWebApi(sys, 'web-alarm-rules-monitoring.db');
  const firm = testFirm();
  firmId = firm.id;
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  dyer = await provisionDevice(sys.apiUrl, sys.adminToken, firmId, 'dyeing_machine', '5号染色机');
  // Two days ago, 20 minutes of a bath every 30 s: 125 °C for 5 minutes twice (above 120, below the default 140).
  const tags = tagSet({ firmId, deviceId: dyer.id, type: 'dyeing_machine', county: firm.county, park: firm.park, segment: firm.segment });
  const start = Date.now() - 2 * 86_400_000;
  const lines = [...Array(40).keys()].map((i) => {
    const t = start + i * 30_000;
    const hot = (t >= start + 2 * MIN && t < start + 7 * MIN) || (t >= start + 12 * MIN && t < start + 17 * MIN);
    return telemetryLine('dyeing_machine', tags, t, i + 1, { bath_temp_c: hot ? 125 : 90 });
  });
  await sys.store.write(lines);
});
after(async () => {
  await web?.close();
  await sys?.close();
});

describe('alarm rules in the page', () => {
  // First: the browser test below stores live points of its own.
  test('preview over the API: an engineer previews only their firm\'s devices; kinds without telemetry are refused', async () => {
    const other = testFirm();
    assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', other)).status, 201);
    const eng = (await sys.registry.createApiToken('engineer', other.id, 'engineer of the other firm')).token;
    const rule = { name: 'hot', kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 120, durationS: 60, severity: 'warning' };
    const mine = await api<{ fired: number; devicesMatched: number }>(web, eng, 'POST', '/api/v1/alarm-rules/preview', rule);
    assert.equal(mine.status, 200);
    assert.deepEqual([mine.body.fired, mine.body.devicesMatched], [0, 0], 'the other firm\'s dyeing machine is not replayed');
    assert.equal((await api(web, eng, 'POST', '/api/v1/alarm-rules/preview', { ...rule, deviceId: dyer.id })).status, 404);
    const admin = await api<{ fired: number; devicesMatched: number; devices: Array<{ deviceId: string; episodes: Array<{ peak: number }> }> }>(web, sys.adminToken, 'POST', '/api/v1/alarm-rules/preview', { ...rule, days: 3 });
    assert.deepEqual([admin.body.fired, admin.body.devicesMatched, admin.body.devices[0]?.episodes[0]?.peak], [2, 1, 125]);
    assert.equal((await api(web, sys.adminToken, 'POST', '/api/v1/alarm-rules/preview', { name: 's', kind: 'spool', value: 5, severity: 'info' })).status, 400);
    assert.equal((await api(web, sys.adminToken, 'POST', '/api/v1/alarm-rules/preview', { ...rule, days: 8 })).status, 400);
  });

  test('edit a threshold rule, see the 7-day preview, save; a violating message raises the alarm on the page', async () => {
    await withBrowser('alarm-rules', async (_ctx, page, problems) => {
      await signIn(page, web.apiUrl, sys.adminToken, '#/alarm-rules');
      const row = page.locator('[data-testid=alarm-rules] tr', { hasText: '染液超温' });
      await row.locator('[data-action=edit]').click();
      const form = page.locator('[data-testid=rule-form]');
      assert.equal(await form.locator('[name=metric]').inputValue(), 'bath_temp_c');
      assert.equal(await form.locator('[data-testid=value-unit]').textContent(), '°C');
      await form.locator('[name=value]').fill('120');
      await form.locator('[name=durationS]').fill('60');
      assert.equal(await form.locator('[data-testid=rule-save]').isDisabled(), true, 'no save before a preview');
      await form.locator('[data-testid=rule-preview]').click();
      const fired = form.locator('[data-testid=preview-fired]');
      await fired.waitFor({ timeout: 20_000 });
      assert.equal(await fired.getAttribute('data-fired'), '2');
      assert.match(await fired.textContent() ?? '', /过去 7 天内会触发 2 次/);
      assert.match(await form.locator('[data-testid=preview-result] table').textContent() ?? '', /5号染色机.*125 °C/);
      await form.locator('[data-testid=rule-save]').click();
      await page.waitForSelector('[data-testid=rules-status]:not([hidden])');
      await page.locator('[data-testid=alarm-rules] tr', { hasText: '染液超温' }).filter({ hasText: '> 120 °C' }).waitFor();
      // Duration 60 s: hot for more than a minute through the real broker.
      const pub = (seq: number, v: number) => run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(sys.mqttPort), '-q', '1', '-i', dyer.id, '-u', dyer.id, '-P', dyer.token,
        '-t', topicFor(firmId, dyer.id, 'telemetry'), '-m', JSON.stringify({ ts: Date.now(), seq, metrics: { bath_temp_c: v } })]);
      await pub(1, 130);
      await new Promise((r) => setTimeout(r, 61_000));
      await pub(2, 131);
      const alarm = page.locator('#rules-alarms [data-alarm]', { hasText: '5号染色机' });
      await alarm.waitFor({ timeout: 15_000 });
      assert.match(await alarm.textContent() ?? '', /染液温度 131 °C，高于 120 °C/);
      const stored = await api<Array<{ deviceId: string; ruleName: string }>>(web, sys.adminToken, 'GET', `/api/v1/alarms?firmId=${firmId}`);
      assert.deepEqual(stored.body.map((a) => [a.deviceId, a.ruleName]), [[dyer.id, '染液超温 / dyeing bath above 140 °C']]);
      assert.deepEqual(problems, []);
    });
  });

  test('channels page: a webhook channel is added, a test message sent, and its delivery log opens', async () => {
    await withBrowser('alarm-channels', async (_ctx, page, problems) => {
      await signIn(page, web.apiUrl, sys.adminToken, '#/alarm-channels');
      const form = page.locator('[data-testid=channel-create]');
      await form.locator('[name=name]').fill('值班 webhook');
      await form.locator('[name=kind]').selectOption('email');
      assert.equal(await form.locator('[name=smtpHost]').isVisible(), true, 'e-mail asks for the SMTP server');
      assert.equal(await form.locator('[name=url]').isVisible(), false);
      await form.locator('[name=kind]').selectOption('webhook');
      assert.equal(await form.locator('[name=smtpHost]').isVisible(), false);
      await form.locator('[name=url]').fill(`${web.apiUrl}/api/v1/no-such-receiver`);
      await form.locator('button[type=submit]').click();
      const row = page.locator('[data-testid=alarm-channels] tr', { hasText: '值班 webhook' });
      await row.waitFor();
      await row.locator('[data-action=test]').click();
      await page.waitForSelector('[data-testid=channels-status].error');
      assert.match(await page.locator('[data-testid=channels-status]').textContent() ?? '', /测试消息未送达/);
      await row.locator('[data-action=deliveries]').click();
      await page.locator('tr[data-log] td', { hasText: '暂无发送记录' }).waitFor();
      await page.click('#lang');
      await page.locator('[data-testid=alarm-channels] tr', { hasText: 'Webhook' }).waitFor();
      assert.deepEqual(problems, []);
    });
  });
});
