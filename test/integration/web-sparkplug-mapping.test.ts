// The gateways card's Sparkplug mapping editor in a real headless Chromium against the whole system in-process:
// the firm's engineer adds a mapping row and saves it (the API then holds exactly that); a row that maps to a
// metric of another device type or to no metric at all shows the API's own message beside it and nothing is
// saved; an edge node publishing under the mapped name is then seen on the device page; the bureau reads the
// mappings without any control. Screenshots: test-results/web-sparkplug-mapping*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { signIn, startWebApi, withBrowser, type WebApi } from '../helpers/browser.ts';
import { TestEdgeNode } from '../helpers/sparkplug-edge.ts';

const firm = testFirm({ name: 'Sparkplug 映射测试织造厂' });
let sys: TestSystem;
let web: WebApi;

before(async () => {
  sys = await startTestSystem();
  web = await startWebApi(sys, 'web-sparkplug-mapping-monitoring.db');
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  for (const [type, name] of [['loom', '一号织机'], ['electricity_meter', '总电表']]) {
    assert.equal((await api(sys, sys.adminToken, 'POST', `/api/v1/firms/${firm.id}/devices`, { type, name })).status, 201);
  }
});
after(async () => {
  await web?.close();
  await sys?.close();
});

const MAPPED_NAME = 'Loom/Main Drive/Speed';

/** The stored mappings, as the API gives them. */
async function stored(gatewayId: string): Promise<unknown> {
  const r = await api<{ mappings: unknown }>(sys, sys.adminToken, 'GET', `/api/v1/gateways/${gatewayId}/sparkplug-mappings`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.mappings;
}

/** Opens the firm page's editor of the gateway. */
async function openEditor(page: Page, token: string, gatewayId: string) {
  await signIn(page, web.apiUrl, token, `#/firm/${firm.id}`);
  await page.locator(`#gateways tr[data-gateway="${gatewayId}"]`).getByTestId('gateway-sparkplug').click();
  const editor = page.locator(`[data-testid=sparkplug-mapping][data-gateway="${gatewayId}"]`);
  await editor.locator('[data-testid=sparkplug-type][data-type=loom]').waitFor();
  return editor;
}

describe('web: Sparkplug mappings of a gateway', () => {
  test('the engineer adds and saves a mapping; a bad one shows the API\'s message and is not saved; the bureau reads', async () => {
    const engineer = (await sys.registry.createApiToken('engineer', firm.id, '王工')).token;
    const bureau = (await sys.registry.createApiToken('bureau', null, '李局')).token;
    const devices = await sys.registry.listDevices(firm.id);
    const loom = devices.find((d) => d.type === 'loom')!.id;
    const { gateway, token: gatewayToken } = await sys.registry.createGateway({ firmId: firm.id, name: '织造车间 PLC', deviceIds: devices.map((d) => d.id) });

    await withBrowser('sparkplug-mapping', async (_ctx, page, problems) => {
      const editor = await openEditor(page, engineer, gateway.id);
      await editor.getByText(/无需配置即可映射/).waitFor();
      assert.equal(await editor.locator('[data-testid=sparkplug-type][data-type=electricity_meter]').count(), 1, 'a table per device type');
      const loomTable = editor.locator('[data-testid=sparkplug-type][data-type=loom]');
      await loomTable.getByTestId('sparkplug-add').click();
      const row = loomTable.getByTestId('sparkplug-row').last();
      await row.getByTestId('sparkplug-name').fill(MAPPED_NAME);
      const target = row.getByTestId('sparkplug-target');
      assert.match((await target.locator('option[value=speed_rpm]').textContent())!, /主轴转速 \(rpm\)/, 'catalogue name and unit');
      assert.equal(await target.locator('option[value=state]').count(), 1);
      assert.equal(await target.locator('option[value="-"]').count(), 1);
      await target.selectOption('speed_rpm');
      await editor.getByTestId('sparkplug-save').click();
      await editor.getByTestId('sparkplug-saved').waitFor();
      assert.deepEqual(await stored(gateway.id), { loom: { [MAPPED_NAME]: 'speed_rpm' } });

      // The select offers only the type's own metrics: a stale page or a crafted choice is played by adding options.
      for (const [name, wrong] of [['Meter/Power Factor', 'power_factor'], ['Loom/Nonsense', 'no_such_metric']] as const) {
        await loomTable.getByTestId('sparkplug-add').click();
        const bad = loomTable.getByTestId('sparkplug-row').last();
        await bad.getByTestId('sparkplug-name').fill(name);
        await bad.getByTestId('sparkplug-target').evaluate((el, v) => {
          const select = el as HTMLSelectElement;
          select.append(new Option(v, v));
          select.value = v;
        }, wrong);
        await editor.getByTestId('sparkplug-save').click();
        const message = bad.getByTestId('sparkplug-row-error');
        await message.getByText(`loom["${name}"] maps to "${wrong}", which is not a metric of device type loom`).waitFor();
        assert.deepEqual(await stored(gateway.id), { loom: { [MAPPED_NAME]: 'speed_rpm' } }, 'nothing saved');
        await bad.getByTestId('sparkplug-remove').click();
      }
      assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), []);
    });

    // The mapped name reaches the device page as its catalogue metric.
    const edge = new TestEdgeNode({ mqttUrl: sys.mqttUrl, firmId: firm.id, gatewayId: gateway.id, token: gatewayToken,
      devices: { [loom]: [{ name: MAPPED_NAME, alias: 1, type: 'Float', value: 612 }] } });
    try {
      await edge.bornTimes(1);
      await withBrowser('sparkplug-mapping-device', async (_ctx, page) => {
        await signIn(page, web.apiUrl, engineer, `#/device/${loom}`);
        edge.data(loom, [{ alias: 1, type: 'Float', value: 640 }]);
        await page.locator('td[data-metric=speed_rpm]').getByText(/640/).waitFor({ timeout: 15_000 });
      });
    } finally {
      edge.stop();
    }

    await withBrowser('sparkplug-mapping-bureau', async (_ctx, page, problems) => {
      const editor = await openEditor(page, bureau, gateway.id);
      const name = editor.getByTestId('sparkplug-name');
      assert.equal(await name.inputValue(), MAPPED_NAME);
      assert.ok(await name.isDisabled(), 'the bureau reads');
      assert.equal(await editor.getByTestId('sparkplug-save').count(), 0, 'no save for the bureau');
      assert.equal(await editor.getByTestId('sparkplug-add').count(), 0, 'no rows to add');
      assert.deepEqual(problems, []);
    });
  });
});
