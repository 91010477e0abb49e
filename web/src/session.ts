// Who is signed in. The API has no "who am I" route; the monitoring overview without a scope answers with the
// caller's default scope: the prefecture for admin and bureau, their own firm for an engineer.
import { get } from './api.ts';
import type { Firm, MonitoringOverview } from './types.ts';

export interface Identity {
  /** prefecture: admin or bureau (sees everything); engineer: one firm. */
  kind: 'prefecture' | 'engineer';
  firmId: string | null;
}

export async function resolveIdentity(): Promise<Identity> {
  const o = await get<MonitoringOverview>('/monitoring/overview');
  if (o.scope.kind === 'firm') return { kind: 'engineer', firmId: o.scope.id };
  return { kind: 'prefecture', firmId: null };
}

/** Firms the caller may see, by id (engineers: their own). */
export async function firmMap(): Promise<Map<string, Firm>> {
  const firms = await get<Firm[]>('/firms');
  return new Map(firms.map((f) => [f.id, f]));
}
