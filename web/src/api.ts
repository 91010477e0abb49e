// REST calls with the API token from localStorage, or else the session cookie of a password sign-in (sent by the
// browser itself; the page never sees it). A 401 sends the user back to the sign-in form.
import type { Catalogue, Places } from './types.ts';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

const TOKEN_KEY = 'token';

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
  cache.clear();
}

let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

/** The token when there is one; always the header that tells the API a signed-in change comes from this page. */
function authHeaders(): Record<string, string> {
  const tok = token();
  return tok ? { authorization: `Bearer ${tok}`, 'x-dh-page': '1' } : { 'x-dh-page': '1' };
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers = authHeaders();
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new ApiError(0, err instanceof Error ? err.message : String(err));
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    const message = typeof parsed === 'object' && parsed !== null && 'message' in parsed ? String((parsed as { message: unknown }).message) : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message);
  }
  return parsed as T;
}

/** A file the API serves (CSV), fetched with the token (a plain link could send only the session cookie). */
export async function getBlob(path: string): Promise<Blob> {
  return (await getFile(path)).blob;
}

/** A file the API serves with the name it gives it (Content-Disposition: filename*, else filename). */
export async function getFile(path: string): Promise<{ blob: Blob; fileName: string | undefined }> {
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { headers: authHeaders() });
  } catch (err) {
    throw new ApiError(0, err instanceof Error ? err.message : String(err));
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    const body = await res.json().catch(() => undefined) as { message?: unknown } | undefined;
    throw new ApiError(res.status, body?.message !== undefined ? String(body.message) : `${res.status} ${res.statusText}`);
  }
  const disposition = res.headers.get('content-disposition') ?? '';
  const named = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const fileName = named !== undefined ? decodeURIComponent(named) : /filename="([^"]+)"/.exec(disposition)?.[1];
  return { blob: await res.blob(), fileName };
}

export function get<T>(path: string): Promise<T> {
  return call<T>('GET', path);
}

export function post<T>(path: string, body: unknown): Promise<T> {
  return call<T>('POST', path, body);
}

export function patch<T>(path: string, body: unknown): Promise<T> {
  return call<T>('PATCH', path, body);
}

export function put<T>(path: string, body: unknown): Promise<T> {
  return call<T>('PUT', path, body);
}

export function del<T>(path: string): Promise<T> {
  return call<T>('DELETE', path);
}

/** Query string from defined values only. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

// Reference data that does not change while the page is open.
const cache = new Map<string, Promise<unknown>>();
function cached<T>(path: string): Promise<T> {
  let p = cache.get(path) as Promise<T> | undefined;
  if (!p) {
    p = get<T>(path);
    p.catch(() => cache.delete(path));
    cache.set(path, p);
  }
  return p;
}

export const catalogue = (): Promise<Catalogue> => cached<Catalogue>('/catalogue');
export const places = (): Promise<Places> => cached<Places>('/places');
