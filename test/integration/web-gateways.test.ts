// The firm page's gateways card in a real headless Chromium against the whole system in-process: the firm's
// engineer registers a gateway for two of its devices (the token shown once), the gateway logs in with it over real
// MQTT; the engineer edits its device list, rotates its token (the connection closes, the old token is refused) and
// removes it; the bureau sees the card without any of the controls. Screenshot: test-results/web-gateways.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type mqtt from 'mqtt';
import { api, mqttConnectOnce, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { signIn, startWebApi, withBrowser, type WebApi } from '../helpers/browser.ts';

const firm = testFirm({ name: '网关测试织造厂' });
let sys: TestSystem;
let web: WebApi;

before(async () => {
  sys = await startTestSystem();
  web = await startWebApi(sys, 'web-gateways-monitoring.db');
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  for (const [type, name] of [['loom', '一号织机'], ['loom', '二号织机'], ['electricity_meter', '总电表']]) {
    assert.equal((await api(sys, sys.adminToken, 'POST', `/api/v1/firms/${firm.id}/devices`, { type, name })).status, 201);
  }
});
after(async () => {
  await web?.close();
  await sys?.close();
});

const closedWithin = (client: mqtt.MqttClient, ms: number) => new Promise<boolean>((resolve) => {
  const t = setTimeout(() => resolve(false), ms);
  client.once('close', () => { clearTimeout(t); resolve(true); });
});
const connect = (id: string, token: string) => mqttConnectOnce(sys.mqttUrl, { clientId: id, username: id, password: token });

describe('web: gateways of a firm', () => {
  test('the engineer registers, re-assigns, rotates and removes a gateway; the bureau only reads', async () => {
    const engineer = (await sys.registry.createApiToken('engineer', firm.id, '王工')).token;
    const bureau = (await sys.registry.createApiToken('bureau', null, '李局')).token;
    const devices = await sys.registry.listDevices(firm.id);
    const byName = (n: string) => devices.find((d) => d.name === n)!.id;
    await withBrowser('gateways', async (_ctx, page, problems) => {
      page.on('dialog', (d) => { void d.accept(); });
      await signIn(page, web.apiUrl, engineer, `#/firm/${firm.id}`);
      const card = page.locator('#gateways');
      await card.getByText('尚无网关。').waitFor();
      await card.getByTestId('gateway-name').fill('前纺车间网关');
      const form = card.getByTestId('gateway-form');
      await form.getByLabel(/一号织机/).check();
      await form.getByLabel(/总电表/).check();
      await card.getByTestId('gateway-submit').click();
      const token = (await card.getByTestId('gateway-token').textContent({ timeout: 10_000 }))!.trim();
      assert.match(token, /^gt_/);
      const id = (await card.getByTestId('gateway-credentials').getAttribute('data-gateway'))!;
      const row = card.locator(`tr[data-gateway="${id}"]`);
      await row.getByText('一号织机、总电表').or(row.getByText('总电表、一号织机')).waitFor();
      const [g] = await sys.registry.listGateways(firm.id);
      assert.deepEqual(g?.deviceIds, [byName('一号织机'), byName('总电表')].sort());

      let client = await connect(id, token);
      let closed = closedWithin(client, 5000);
      await row.getByTestId('gateway-edit').click();
      const editor = card.getByTestId('gateway-editor');
      await editor.getByLabel(/二号织机/).check();
      await editor.getByLabel(/总电表/).uncheck();
      await editor.getByRole('button', { name: '保存' }).click();
      await row.getByText(/二号织机/).waitFor();
      assert.deepEqual((await sys.registry.getGateway(id))?.deviceIds, [byName('一号织机'), byName('二号织机')].sort());
      assert.ok(await closed, 'a new device list closes the connection');

      client = await connect(id, token);
      closed = closedWithin(client, 5000);
      await row.getByTestId('gateway-rotate').click();
      await card.locator(`[data-testid=gateway-token]:not(:text("${token}"))`).waitFor();
      const rotated = (await card.getByTestId('gateway-token').textContent())!.trim();
      assert.ok(await closed, 'rotation closes the connection');
      await assert.rejects(connect(id, token), 'the old token is refused');
      (await connect(id, rotated)).end();

      await row.getByTestId('gateway-remove').click();
      await card.getByText('尚无网关。').waitFor();
      assert.equal(await sys.registry.getGateway(id), undefined);
      assert.deepEqual(problems, []);
    });
    const { gateway } = await sys.registry.createGateway({ firmId: firm.id, name: '后整理网关', deviceIds: [byName('总电表')] });
    await withBrowser('gateways-bureau', async (_ctx, page, problems) => {
      await signIn(page, web.apiUrl, bureau, `#/firm/${firm.id}`);
      const card = page.locator('#gateways');
      await card.locator(`tr[data-gateway="${gateway.id}"]`).getByText('总电表').waitFor();
      assert.equal(await card.getByTestId('gateway-form').count(), 0, 'no form for the bureau');
      assert.equal(await card.getByTestId('gateway-rotate').count(), 0, 'no controls');
      assert.deepEqual(problems, []);
    });
  });
});
