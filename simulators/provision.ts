// Provisioning simulated devices through the API, as a factory engineer would, and registering the firms a
// scenario names (admin or bureau token) when they are not registered yet.
import fs from 'node:fs';
import type { NewFirm } from '../common/registry/registry.ts';
import type { DeviceCredentials } from './device.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** Called when the API's rate limit makes provisioning wait (seconds). */
let onRateLimited: (waitS: number) => void = () => {};
export function setRateLimitListener(fn: (waitS: number) => void): void {
  onRateLimited = fn;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(apiUrl: string, apiToken: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  // The API limits requests per token and minute: provisioning thousands of devices waits as told and goes on.
  for (let attempt = 0; ; attempt++) {
    const r = await callOnce(apiUrl, apiToken, method, url, body);
    if (r.status !== 429 || attempt >= 20) return r;
    const waitS = Math.min(120, Math.max(1, Number(r.retryAfter) || 5));
    onRateLimited(waitS);
    await sleep(waitS * 1000);
  }
}

async function callOnce(apiUrl: string, apiToken: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null }> {
  let res: Response;
  try {
    res = await fetch(`${apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${apiToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError(`cannot reach the API at ${apiUrl} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}); is it running? (--api URL)`, 0);
  }
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
}

export async function provisionDevice(apiUrl: string, apiToken: string, firmId: string, type: string, name: string, location = '', id?: string): Promise<DeviceCredentials> {
  const r = await call(apiUrl, apiToken, 'POST', `/api/v1/firms/${encodeURIComponent(firmId)}/devices`, { type, name, location, ...(id ? { id } : {}) });
  const body = r.body as { id?: string; token?: string; message?: string };
  if (r.status === 409) {
    throw new ApiError(`device ${id ?? ''} already exists under ${firmId} and its token is shown only once: pass the credentials file saved when it was provisioned (--credentials FILE), or choose new ids (--prefix)`, 409);
  }
  if (r.status !== 201 || !body.id || !body.token) throw new ApiError(`provisioning ${type} under ${firmId} failed (${r.status}): ${body.message ?? 'no detail'}`, r.status);
  return { id: body.id, firmId, type, token: body.token };
}

/** Registers the firm unless it is registered already; returns whether it was created. */
export async function ensureFirm(apiUrl: string, apiToken: string, firm: NewFirm): Promise<boolean> {
  const got = await call(apiUrl, apiToken, 'GET', `/api/v1/firms/${encodeURIComponent(firm.id)}`);
  if (got.status === 200) return false;
  if (got.status === 401 || got.status === 403) throw new ApiError(`the API token may not read firm ${firm.id} (${got.status}): ${String(got.body.message ?? '')}`, got.status);
  const { id, name, county, park, segment, aboveScale, employees, landMu, smartFactoryTier, demo } = firm;
  const r = await call(apiUrl, apiToken, 'POST', '/api/v1/firms', { id, name, county, park, segment, aboveScale, employees, landMu, smartFactoryTier, demo });
  if (r.status === 201) return true;
  if (r.status === 409) return false;
  throw new ApiError(`registering firm ${firm.id} (${firm.name}) failed (${r.status}): ${String(r.body.message ?? 'no detail')}${r.status === 403 ? ' — registering firms needs an admin or bureau token' : ''}`, r.status);
}

/**
 * Enters where a firm's steam comes from unless someone already did (admin or bureau token); returns whether it
 * was entered now.
 */
export async function ensureSteamSource(apiUrl: string, apiToken: string, firmId: string, steamSource: string): Promise<boolean> {
  const url = `/api/v1/energy/firms/${encodeURIComponent(firmId)}/settings`;
  const got = await call(apiUrl, apiToken, 'GET', url);
  if (got.status !== 200) throw new ApiError(`reading the energy settings of firm ${firmId} failed (${got.status}): ${String(got.body.message ?? 'no detail')}`, got.status);
  if (got.body.steamSource !== null && got.body.steamSource !== undefined) return false;
  const r = await call(apiUrl, apiToken, 'PUT', url, { steamSource, note: 'simulator scenario' });
  if (r.status !== 200) throw new ApiError(`entering the steam source of firm ${firmId} failed (${r.status}): ${String(r.body.message ?? 'no detail')}`, r.status);
  return true;
}

/** Runs `fn` over items with at most `limit` at a time, in order of start; rejects on the first failure. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Reads a credentials file: a JSON array of {id, firmId, type, token}. */
export function readCredentials(file: string): DeviceCredentials[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read the credentials file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new Error(`${file}: expected a JSON array of {id, firmId, type, token}`);
  return raw.map((c: unknown, i) => {
    const o = c as Partial<DeviceCredentials> | null;
    for (const k of ['id', 'firmId', 'type', 'token'] as const) {
      if (typeof o?.[k] !== 'string' || o[k] === '') throw new Error(`${file}: entry ${i} has no "${k}"; each entry is {id, firmId, type, token}`);
    }
    const v = o as DeviceCredentials;
    return { id: v.id, firmId: v.firmId, type: v.type, token: v.token };
  });
}

export function writeCredentials(file: string, creds: readonly DeviceCredentials[]): void {
  fs.writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
}
