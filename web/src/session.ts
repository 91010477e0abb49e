// Who is signed in (GET /me): admin and bureau see the prefecture, an engineer their own firm.
import { get } from './api.ts';
import type { Firm } from './types.ts';

export interface Identity {
  /** prefecture: admin or bureau (sees everything); engineer: one firm. */
  kind: 'prefecture' | 'engineer';
  firmId: string | null;
}

export async function resolveIdentity(): Promise<Identity> {
  const me = await get<{ role: 'admin' | 'bureau' | 'engineer'; firmId: string | null }>('/me');
  if (me.role === 'engineer' && me.firmId) return { kind: 'engineer', firmId: me.firmId };
  return { kind: 'prefecture', firmId: null };
}

/** Firms the caller may see, by id (engineers: their own). */
export async function firmMap(): Promise<Map<string, Firm>> {
  const firms = await get<Firm[]>('/firms');
  return new Map(firms.map((f) => [f.id, f]));
}
