// What Chromium tests read off the dashboard's pages and hold against the API: the energy history card's figures,
// and signing in and out through the forms as a person does (setting their own password when one was given to them).
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { api } from './system.ts';

export interface Shown { from: number; to: number; prevFrom: number; prevTo: number; interval: string; kwh: number; prevKwh: number; kgce: number; prevKgce: number }
interface Series { points: Array<{ carriers: { electricity: { counted: number } }; totalKgce: number }> }

/** Waits for the history card to show a range and reads what it shows. */
export async function shownHistory(page: Page): Promise<Shown> {
  await page.waitForSelector('#energy-history[data-loading=false] [data-testid=history-total-kwh]', { timeout: 15_000 });
  // No helper functions inside: the test runner's transform would name them with a function the page lacks.
  const d = await page.$eval('#energy-history', (el) => ({ ...(el as HTMLElement).dataset }));
  const v = await page.$$eval('#energy-history [data-testid][data-raw]', (els) => els.map((el) => [el.getAttribute('data-testid') ?? '', Number(el.getAttribute('data-raw'))] as const));
  const raw = new Map(v);
  return {
    from: Number(d.from), to: Number(d.to), prevFrom: Number(d.prevFrom), prevTo: Number(d.prevTo), interval: d.interval ?? '',
    kwh: raw.get('history-total-kwh') ?? NaN, prevKwh: raw.get('history-prev-kwh') ?? NaN, kgce: raw.get('history-total-kgce') ?? NaN, prevKgce: raw.get('history-prev-kgce') ?? NaN,
  };
}

/** The sums of the series the test fetched itself for the same scope, range and interval. */
async function seriesTotals(apiUrl: string, token: string, scope: string, from: number, to: number, interval: string): Promise<{ kwh: number; kgce: number }> {
  const r = await api<Series>({ apiUrl }, token, 'GET', `/api/v1/energy/series?${scope}&from=${from}&to=${to}&interval=${interval}&basis=calorific`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { kwh: r.body.points.reduce((a, p) => a + p.carriers.electricity.counted, 0), kgce: r.body.points.reduce((a, p) => a + p.totalKgce, 0) };
}

export function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= Math.max(1e-9, Math.abs(b) * 1e-9), `${what}: page ${a}, API ${b}`);
}

/** The history card equals the API's series for its range and for the previous period. */
export async function assertHistoryMatches(page: Page, apiUrl: string, token: string, scope: string): Promise<Shown> {
  const s = await shownHistory(page);
  const cur = await seriesTotals(apiUrl, token, scope, s.from, s.to, s.interval);
  const prev = await seriesTotals(apiUrl, token, scope, s.prevFrom, s.prevTo, s.interval);
  close(s.kwh, cur.kwh, 'kWh this period');
  close(s.kgce, cur.kgce, 'kgce this period');
  close(s.prevKwh, prev.kwh, 'kWh previous period');
  close(s.prevKgce, prev.kgce, 'kgce previous period');
  return s;
}

/**
 * Signs in with the form; when the password was given to the person (they must set their own first), sets
 * `newPassword` on the set-password form. Waits for the live feed.
 */
export async function signInWithPassword(page: Page, base: string, login: string, password: string, newPassword?: string): Promise<'signed-in' | 'changed-password'> {
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-testid=login-password]');
  await page.fill('#login-input', login);
  await page.fill('#password-input', password);
  await page.click('[data-testid=login-password] button[type=submit]');
  const first = await page.waitForSelector('#conn[data-state=online], [data-testid=set-password]', { timeout: 15_000 });
  if (await first.getAttribute('data-testid') !== 'set-password') return 'signed-in';
  assert.ok(newPassword, `${login} must set a new password first`);
  const form = '[data-testid=set-password] [data-testid=account-form]';
  if (await page.isVisible(`${form} input[name=currentPassword]`)) await page.fill(`${form} input[name=currentPassword]`, password);
  await page.fill(`${form} input[name=password]`, newPassword);
  await page.fill(`${form} input[name=again]`, newPassword);
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector('#conn[data-state=online]', { timeout: 15_000 });
  return 'changed-password';
}

/** Signs out with the header's button and checks the API agrees. */
export async function signOutOfPage(page: Page): Promise<void> {
  await page.click('[data-testid=sign-out]');
  await page.waitForSelector('[data-testid=login-password]');
  assert.equal(await page.evaluate(async () => (await fetch('/api/v1/session')).status), 401, 'signed out for the API too');
}
