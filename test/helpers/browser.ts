// Browser tests of the dashboard: Debian's Chromium through playwright-core with a fresh profile per test, and the
// API the browser talks to: a second one on a test system's stores and live feed, with a Monitoring (live rooms,
// rollups), as api/main.ts runs it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildApp } from '../../api/app.ts';
import { Monitoring } from '../../analytics/index.ts';
import { createLogger } from '../../common/log.ts';
import type { TestSystem } from './system.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS = path.join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface WebApi { app: FastifyInstance; monitoring: Monitoring; apiUrl: string; close(): Promise<void> }

export async function startWebApi(sys: TestSystem, name = 'web-monitoring.db'): Promise<WebApi> {
  const monitoring = new Monitoring({ file: path.join(sys.dir, name), registry: sys.registry, store: sys.store, connectedWindowDays: 30, offlineCheckMs: 3_600_000 });
  monitoring.start({ live: sys.broker.admission });
  const app = await buildApp({
    registry: sys.registry, spool: sys.spool, store: sys.store, log: createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent'), connectedWindowDays: 30,
    live: sys.broker.admission, monitoring, brokerControl: { disconnect: async (id, reason) => sys.broker.disconnectDevice(id, reason) },
    mqttBroker: { host: '127.0.0.1', port: sys.mqttPort },
    mqttEndpoints: { port: sys.mqttPort, ...(sys.tlsFiles ? { tlsPort: sys.mqttsPort, caFile: sys.tlsFiles.ca } : {}), webSocket: true },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  return {
    app, monitoring, apiUrl: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`,
    close: async () => { await app.close(); await monitoring.close(); },
  };
}

/** A fresh browser profile per test (downloads allowed); a screenshot of the page goes to test-results/web-<name>.png. */
export async function withBrowser(name: string, fn: (ctx: BrowserContext, page: Page, problems: string[]) => Promise<void>, viewport = { width: 1920, height: 1080 }): Promise<void> {
  assert.ok(fs.existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install -y chromium fonts-noto-cjk)`);
  fs.mkdirSync(RESULTS, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  try {
    await fn(ctx, page, problems);
  } finally {
    await page.screenshot({ path: path.join(RESULTS, `web-${name}.png`), fullPage: true }).catch(() => {});
    await ctx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Signs in with a token (the #token= link the README gives), waits for the live feed and opens `hash`. */
export async function signIn(page: Page, apiUrl: string, token: string, hash = '#/'): Promise<void> {
  await page.goto(`${apiUrl}/#token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#conn[data-state=online]', { timeout: 15_000 });
  if (hash !== '#/') await page.evaluate((x) => { location.hash = x; }, hash);
}
