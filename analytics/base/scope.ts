// Scopes as the analytics use them: which ids exist, which firms a scope holds, who may read it, live rooms.
import { COUNTIES, PARKS, SEGMENTS } from '../../common/places.ts';
import { SCOPE_KINDS, SCOPE_TAG, type Scope, type ScopeKind } from '../../common/contract/scope.ts';
import type { ApiPrincipal, Device, Firm } from '../../common/registry/registry.ts';

export { SCOPE_KINDS, SCOPE_TAG, type Scope, type ScopeKind };

/** Why a scope id is unknown (for 400/404 messages), or undefined when it exists. */
export function scopeProblem(scope: Scope): string | undefined {
  switch (scope.kind) {
    case 'prefecture': return undefined;
    case 'county': return COUNTIES.some((c) => c.code === scope.id) ? undefined : `unknown county "${scope.id}"; counties: ${COUNTIES.map((c) => `${c.code} ${c.zh}`).join(', ')}`;
    case 'park': return PARKS.some((p) => p.id === scope.id) ? undefined : `unknown park "${scope.id}"; parks: ${PARKS.map((p) => p.id).join(', ')}`;
    case 'segment': return SEGMENTS.some((s) => s.id === scope.id) ? undefined : `unknown segment "${scope.id}"; segments: ${SEGMENTS.map((s) => s.id).join(', ')}`;
    default: return undefined;
  }
}

export function firmInScope(f: Pick<Firm, 'id' | 'county' | 'park' | 'segment'>, scope: Scope): boolean {
  switch (scope.kind) {
    case 'prefecture': return true;
    case 'county': return f.county === scope.id;
    case 'park': return f.park === scope.id;
    case 'segment': return f.segment === scope.id;
    case 'firm': return f.id === scope.id;
    case 'device': return false;
  }
}

/**
 * Role rule for a scope: admin and bureau see everything; an engineer sees only their own firm and its devices.
 * Returns 'ok', 'forbidden' (an engineer asking for a scope wider than one firm: 403) or 'not-found' (another
 * firm or its device: 404, as if it did not exist).
 */
export function scopeAccess(p: ApiPrincipal, scope: Scope, device?: Pick<Device, 'firmId'>): 'ok' | 'forbidden' | 'not-found' {
  if (p.role !== 'engineer') return 'ok';
  if (scope.kind === 'firm') return scope.id === p.firmId ? 'ok' : 'not-found';
  if (scope.kind === 'device') return device && device.firmId === p.firmId ? 'ok' : 'not-found';
  return 'forbidden';
}

/** Room names for live push, the same scheme api/live.ts uses ('all', 'firm:<id>') extended to the other levels. */
export function roomOf(scope: Scope): string {
  return scope.kind === 'prefecture' ? 'all' : `${scope.kind}:${scope.id}`;
}

export function parseRoom(room: string): Scope | undefined {
  if (room === 'all' || room === 'prefecture') return { kind: 'prefecture', id: '' };
  const i = room.indexOf(':');
  if (i <= 0) return undefined;
  const kind = room.slice(0, i);
  const id = room.slice(i + 1);
  if (!(SCOPE_KINDS as readonly string[]).includes(kind) || kind === 'prefecture' || id === '') return undefined;
  return { kind: kind as ScopeKind, id };
}
