// The dashboard's history, drill-down and exports in a real headless Chromium against the whole system in-process
// (real influxd, broker, writer, API with a Monitoring): what the page shows is compared with what the test fetches
// from the API itself. Two days of 15-minute meter readings before today give yesterday and the day before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { RESULTS, signIn, startWebApi, withBrowser, type WebApi } from '../helpers/browser.ts';
import { assertHistoryMatches as historyMatches, close, shownHistory } from '../helpers/web-pages.ts';
import { SimulatedDevice, type DeviceCredentials } from '../../simulators/device.ts';
import { createModel, seededRng } from '../../simulators/models.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { writeLoomRange } from '../helpers/device-range.ts';

const DAY = 86_400_000;
const OFFSET = 8 * 3_600_000;
const todayStart = Math.floor((Date.now() + OFFSET) / DAY) * DAY - OFFSET;
const localDate = (ms: number) => new Date(ms + OFFSET).toISOString().slice(0, 10);
const yesterday = localDate(todayStart - DAY);

let sys: TestSystem;
let web: WebApi;
const firmA = testFirm({ name: '历史测试织造甲厂', county: '533102', park: 'ruili-coop', segment: 'weaving' });
const firmB = testFirm({ name: '历史测试印染乙厂', county: '533103', park: 'mangshi', segment: 'dyeing' });
let engineerA = '';
let meterA: DeviceCredentials;

/** The history card equals what the API answers the token for its range and the previous period. */
const assertHistoryMatches = (page: Page, token: string, scope: string) => historyMatches(page, web.apiUrl, token, scope);

async function crumbs(page: Page): Promise<Array<{ text: string; href: string | null }>> {
  return page.$$eval('[data-testid=breadcrumbs] li', (lis) => lis.map((li) => ({ text: li.textContent ?? '', href: li.querySelector('a')?.getAttribute('href') ?? null })));
}

before(async () => {
  sys = await startTestSystem();
  web = await startWebApi(sys, 'web-history-monitoring.db');
  for (const f of [firmA, firmB]) assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', f)).status, 201);
  const tok = await api<{ token: string }>(sys, sys.adminToken, 'POST', '/api/v1/tokens', { role: 'engineer', firmId: firmA.id, name: 'history engineer A' });
  engineerA = tok.body.token;
  meterA = await provisionDevice(sys.apiUrl, sys.adminToken, firmA.id, 'electricity_meter', '总电表', '配电房');
  const meterB = await provisionDevice(sys.apiUrl, sys.adminToken, firmB.id, 'electricity_meter', '乙厂总电表', '配电房');
  // The day before yesterday and yesterday, one reading every 15 minutes, then the rollups of those days.
  const start = todayStart - 2 * DAY;
  for (const [i, c] of [meterA, meterB].entries()) {
    const d = new SimulatedDevice(c, createModel(c.type, seededRng(300 + i)), sys.mqttUrl);
    await d.connect();
    for (let t = start; t < todayStart; t += 15 * 60_000) await d.publishOnce(t, 15 * 60_000);
    await d.stop();
  }
  await sys.drained();
  await web.monitoring.rollups.rebuild(start, todayStart);
});

after(async () => {
  await web?.close();
  await sys?.close();
});

describe('history, drill-down and exports in Chromium', () => {
  test("a firm's history card shows the API's totals for yesterday and the day before, and downloads the API's CSV", async () => {
    await withBrowser('history-firm', async (_ctx, page, problems) => {
      await signIn(page, web.apiUrl, sys.adminToken, `#/firm/${firmA.id}?range=yesterday`);
      const s = await assertHistoryMatches(page, sys.adminToken, `scope=firm&id=${firmA.id}`);
      assert.equal(s.from, todayStart - DAY);
      assert.equal(s.prevFrom, todayStart - 2 * DAY);
      assert.equal(s.interval, '15m');
      assert.ok(s.kwh > 0 && s.prevKwh > 0, 'two days of readings give energy on both');
      assert.match(await page.textContent('#energy-history [data-testid=history-total-kwh]') ?? '', /kWh$/);
      assert.match(await page.textContent('#energy-history .basis') ?? '', /当量值/);

      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#energy-history [data-testid=download-csv]')]);
      assert.equal(download.suggestedFilename(), `energy_firm_${firmA.id}_${yesterday}_${yesterday}.csv`);
      const file = fs.readFileSync(await download.path(), 'utf8');
      const res = await fetch(`${web.apiUrl}/api/v1/energy/rollups.csv?scope=firm&id=${firmA.id}&from=${yesterday}&to=${yesterday}`, { headers: { authorization: `Bearer ${sys.adminToken}` } });
      const expected = await res.text();
      assert.equal(res.status, 200);
      assert.deepEqual(file.split(/\r?\n/), expected.split(/\r?\n/), 'the saved file is the API\'s CSV');
      assert.ok(expected.split('\n').length > 10);

      const [chartFile] = await Promise.all([page.waitForEvent('download'), page.click('#energy-history [data-testid=download-chart]')]);
      assert.equal(chartFile.suggestedFilename(), `energy-series_firm_${firmA.id}_${yesterday}_${yesterday}.csv`);
      const rows = fs.readFileSync(await chartFile.path(), 'utf8').replace(/^\ufeff/, '').trim().split('\r\n').slice(1).map((l) => l.split(','));
      assert.equal(rows.length, 96, 'one row per quarter of the day');
      close(rows.reduce((a, r) => a + Number(r[1] || 0), 0), s.kwh, 'chart CSV kWh');
      close(rows.reduce((a, r) => a + Number(r[4] || 0), 0), s.prevKwh, 'chart CSV previous kWh');
      assert.deepEqual(problems, []);
    });
  });

  test('the picked range is in the address and survives a reload (preset and custom dates)', async () => {
    await withBrowser('history-hash', async (_ctx, page) => {
      await signIn(page, web.apiUrl, sys.adminToken, `#/firm/${firmA.id}`);
      await shownHistory(page);
      await page.selectOption('[data-range-preset]', '7d');
      await page.waitForFunction(() => location.hash.endsWith('?range=7d'));
      const week = await shownHistory(page);
      assert.equal(week.interval, '1h');
      assert.equal(week.from, todayStart - 6 * DAY);
      await page.reload();
      assert.equal(await page.inputValue('[data-range-preset]'), '7d');
      assert.equal((await shownHistory(page)).from, week.from);

      // A year goes by day, shown by month: the chart's file has a row a month summing to the totals.
      await page.selectOption('[data-range-preset]', 'year');
      await page.waitForSelector('#energy-history[data-grouping=month][data-interval="1d"]');
      const year = await assertHistoryMatches(page, sys.adminToken, `scope=firm&id=${firmA.id}`);
      const [months] = await Promise.all([page.waitForEvent('download'), page.click('#energy-history [data-testid=download-chart]')]);
      const monthRows = fs.readFileSync(await months.path(), 'utf8').replace(/^\ufeff/, '').trim().split('\r\n').slice(1).map((l) => l.split(','));
      assert.equal(monthRows.length, new Date(Date.now() + OFFSET).getUTCMonth() + 1, 'a row per month of this year so far');
      close(monthRows.reduce((a, r) => a + Number(r[1] || 0), 0), year.kwh, 'monthly kWh');

      const first = localDate(todayStart - 2 * DAY);
      await page.selectOption('[data-range-preset]', 'custom');
      await page.fill('[data-range-from]', first);
      await page.fill('[data-range-to]', yesterday);
      await page.click('[data-range-apply]');
      await page.waitForFunction((q) => location.hash.endsWith(q), `?from=${first}&to=${yesterday}`);
      await page.reload();
      assert.equal(await page.inputValue('[data-range-preset]'), 'custom');
      assert.equal(await page.inputValue('[data-range-from]'), first);
      const custom = await assertHistoryMatches(page, sys.adminToken, `scope=firm&id=${firmA.id}`);
      assert.equal(custom.from, todayStart - 2 * DAY);
      assert.equal(custom.prevFrom, todayStart - 4 * DAY, 'the previous period is as long as the range');
    });
  });

  test('drill-down: overview → county → park → firm → device, with breadcrumbs and the range kept', async () => {
    await withBrowser('history-drill', async (_ctx, page, problems) => {
      await signIn(page, web.apiUrl, sys.adminToken, '#/?range=yesterday');
      await page.click('#breakdown tr[data-county="533102"] a');
      await page.waitForSelector('[data-county="533102"] [data-testid=place-name]');
      assert.ok(page.url().includes('#/county/533102'));
      assert.deepEqual((await crumbs(page)).map((c) => c.text), ['德宏州', '瑞丽市']);
      await assertHistoryMatches(page, sys.adminToken, 'scope=county&id=533102');
      await page.waitForSelector(`#place-firms tr[data-firm="${firmA.id}"] [data-connected=true]`);
      assert.equal(await page.$(`#place-firms tr[data-firm="${firmB.id}"]`), null, 'firm B is in another county');
      await page.screenshot({ path: path.join(RESULTS, 'web-history-county.png'), fullPage: true });
      // In English too, on the same range.
      await page.click('#lang');
      await page.waitForFunction(() => /Ruili · county/.test(document.querySelector('[data-testid=place-name]')?.textContent ?? ''));
      assert.equal(await page.textContent('#energy-history h2'), 'Energy history');
      assert.equal(await page.inputValue('[data-range-preset]'), 'yesterday');
      await page.click('#lang');
      await page.waitForFunction(() => /瑞丽市/.test(document.querySelector('[data-testid=place-name]')?.textContent ?? ''));

      await page.click('#place-parks tr[data-park="ruili-coop"] a');
      await page.waitForSelector('[data-park="ruili-coop"] [data-testid=place-name]');
      assert.ok(page.url().endsWith('#/park/ruili-coop?range=yesterday'), page.url());
      assert.deepEqual(await crumbs(page), [{ text: '德宏州', href: '#/?range=yesterday' }, { text: '瑞丽市', href: '#/county/533102?range=yesterday' }, { text: '瑞丽产业协作园区', href: null }]);
      await assertHistoryMatches(page, sys.adminToken, 'scope=park&id=ruili-coop');

      await page.click(`#place-firms tr[data-firm="${firmA.id}"] a`);
      await page.waitForSelector(`[data-firm="${firmA.id}"] [data-testid=firm-name]`);
      assert.deepEqual((await crumbs(page)).map((c) => c.text), ['德宏州', '瑞丽市', '瑞丽产业协作园区', firmA.name]);
      await page.evaluate((id) => { location.hash = `#/device/${id}?range=yesterday`; }, meterA.id);
      await page.waitForSelector('[data-testid=breadcrumbs] li[data-crumb="4"]');
      assert.deepEqual((await crumbs(page)).map((c) => c.text), ['德宏州', '瑞丽市', '瑞丽产业协作园区', firmA.name, '总电表']);
      // The device chart shows the API's points of that day.
      const t = await api<{ points: unknown[] }>(web, sys.adminToken, 'GET', `/api/v1/devices/${meterA.id}/telemetry?metric=power_kw&from=${todayStart - DAY}&to=${todayStart}&limit=100000`);
      await page.waitForFunction((n) => Number(document.querySelector('[data-chart=power_kw] .chart')?.getAttribute('data-points')) === n, t.body.points.length, { timeout: 10_000 });
      await page.selectOption('#device-charts [data-range-preset]', 'year');
      await page.waitForFunction(() => /31/.test(document.querySelector('[data-testid=device-range-note]')?.textContent ?? ''));
      assert.deepEqual(problems, []);
    });
  });

  test('a device page over 30 days draws 15-minute means from the API and a state strip whose time per state is the monitoring report\'s', async () => {
    const loom = await provisionDevice(sys.apiUrl, sys.adminToken, firmA.id, 'loom', '月度织机', '织造车间');
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    await writeLoomRange(sys.store, firmA, loom.id, now - 32 * DAY, now);
    await withBrowser('history-device-month', async (_ctx, page, problems) => {
      const asked: string[] = [];
      page.on('request', (r) => { if (r.url().includes(`/devices/${loom.id}/telemetry`)) asked.push(r.url()); });
      await signIn(page, web.apiUrl, sys.adminToken, `#/device/${loom.id}`);
      await page.waitForSelector('[data-chart=speed_rpm] .chart[data-every="0"]');
      await page.selectOption('#device-charts [data-range-preset]', '30d');
      await page.waitForSelector('[data-chart=speed_rpm] .chart[data-every="900000"]', { timeout: 15_000 });
      const url = asked.find((u) => u.includes('metric=speed_rpm') && u.includes('every='));
      assert.ok(url, `the page asks for intervals: ${asked.join(', ')}`);
      const q = new URL(url).searchParams;
      assert.equal(q.get('every'), '900s');
      const series = await api<{ everyMs: number; points: Array<{ ts: number; value: number; min: number; max: number }> }>(web, sys.adminToken, 'GET', `/api/v1/devices/${loom.id}/telemetry?${q.toString()}`);
      assert.equal(series.body.everyMs, 900_000);
      assert.ok(series.body.points.length > 2500 && series.body.points.length <= 3000, `about 30 days of quarters: ${series.body.points.length}`);
      await page.waitForFunction((n) => Number(document.querySelector('[data-chart=speed_rpm] .chart')?.getAttribute('data-points')) === n, series.body.points.length, { timeout: 15_000 });
      assert.match(await page.textContent('[data-testid=device-chart-basis]') ?? '', /每 15 分钟平均/);

      // The state strip over the same range; its time per state equals the monitoring report's for that range.
      await page.waitForSelector('[data-testid=state-strip][data-loading=false] .seg', { timeout: 15_000 });
      const strip = await page.$eval('[data-testid=state-strip]', (el) => ({ from: Number((el as HTMLElement).dataset.from), to: Number((el as HTMLElement).dataset.to) }));
      const shown = Object.fromEntries(await page.$$eval('[data-testid=state-totals] [data-state]', (els) => els.map((el) => [el.getAttribute('data-state') ?? '', Number(el.getAttribute('data-ms'))] as const)));
      let times: Record<string, number> | undefined;
      // The monitoring keeps its own index of devices: the loom provisioned above appears in it within a refresh.
      for (let i = 0; i < 100 && !times; i++) {
        const report = await api<{ periods: Array<{ devices: Array<{ deviceId: string; times: Record<string, number> }> }> }>(web, sys.adminToken, 'GET', `/api/v1/monitoring/states?deviceId=${loom.id}&from=${strip.from}&to=${strip.to}&by=total`);
        times = report.body.periods[0]?.devices.find((d) => d.deviceId === loom.id)?.times;
        if (!times) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(times, 'the monitoring report has the loom');
      assert.deepEqual(shown, Object.fromEntries(Object.entries(times).filter(([, ms]) => ms > 0)));
      assert.equal(Object.values(shown).reduce((a, b) => a + b, 0), strip.to - strip.from, 'the strip covers the range');
      assert.ok(Object.keys(shown).length >= 5, `several states over a month: ${JSON.stringify(shown)}`);
      await page.screenshot({ path: path.join(RESULTS, 'web-history-device-month.png'), fullPage: true });
      assert.deepEqual(problems, []);
    });
  });

  test('an engineer sees only their firm: no county or park pages, place crumbs without links, firm B not found', async () => {
    await withBrowser('history-engineer', async (_ctx, page) => {
      const asked: string[] = [];
      page.on('request', (r) => { if (r.url().includes('/api/v1/energy/')) asked.push(r.url()); });
      await signIn(page, web.apiUrl, engineerA, `#/firm/${firmA.id}?range=yesterday`);
      await assertHistoryMatches(page, engineerA, `scope=firm&id=${firmA.id}`);
      const c = await crumbs(page);
      assert.deepEqual(c.map((x) => x.href), [null, null, null, null], 'no links to pages an engineer cannot open');
      for (const hash of ['#/county/533102', '#/park/ruili-coop', `#/firm/${firmB.id}`]) {
        await page.evaluate((x) => { location.hash = x; }, hash);
        await page.waitForSelector('[data-testid=not-found]');
        assert.equal(await page.$('#energy-history'), null, `${hash}: no empty history card`);
      }
      assert.ok(asked.every((u) => u.includes(firmA.id)), `an engineer's page asks only for firm A: ${asked.join(', ')}`);
      assert.equal(await page.textContent('body').then((b) => (b ?? '').includes(firmB.name)), false);
    });
  });
});
