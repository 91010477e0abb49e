// Request-level helpers shared by the monitoring routes, free of Fastify: resolving and authorising a scope,
// reading times, naming the actor. Errors carry an HTTP statusCode, which the API's error handler answers with.
import type { ApiPrincipal, Device, Firm, Registry } from '../common/registry/registry.ts';
import type { Actor } from '../analytics/base/db.ts';
import { scopeAccess, scopeProblem, type Scope, type ScopeKind } from '../analytics/base/scope.ts';

export class AccessError extends Error {
  constructor(readonly statusCode: 400 | 403 | 404, message: string) {
    super(message);
    this.name = 'AccessError';
  }
}

export function actorOf(p: ApiPrincipal): Actor {
  return { name: p.name, tokenId: p.tokenId };
}

export function requireRoles(p: ApiPrincipal, ...roles: ApiPrincipal['role'][]): void {
  if (!roles.includes(p.role)) throw new AccessError(403, `this needs the role ${roles.join(' or ')}; your token has ${p.role}`);
}

/** Admin and bureau see everything; an engineer only their firm (another firm answers 404). */
export function assertFirmVisible(p: ApiPrincipal, firmId: string): void {
  if (p.role === 'engineer' && p.firmId !== firmId) throw new AccessError(404, `firm ${firmId} not found`);
}

export interface ResolvedScope {
  scope: Scope;
  firm?: Firm;
  device?: Device;
}

/**
 * The scope of a request: `scope` and `id` from the query, defaulting to the prefecture for admin and bureau
 * and to their own firm for an engineer. Unknown county/park/segment: 400; unknown or foreign firm/device:
 * 404; an engineer asking for more than one firm: 403.
 */
export async function resolveScope(p: ApiPrincipal, registry: Registry, kind: ScopeKind | undefined, id: string | undefined): Promise<ResolvedScope> {
  const k: ScopeKind = kind ?? (p.role === 'engineer' ? 'firm' : 'prefecture');
  const scopeId = k === 'prefecture' ? '' : (id ?? (k === 'firm' && p.role === 'engineer' ? (p.firmId ?? '') : ''));
  if (k !== 'prefecture' && scopeId === '') throw new AccessError(400, `scope=${k} needs id=<${k} id>`);
  const scope: Scope = { kind: k, id: scopeId };
  const problem = scopeProblem(scope);
  if (problem) throw new AccessError(400, problem);
  let firm: Firm | undefined;
  let device: Device | undefined;
  if (k === 'device') {
    device = await registry.getDevice(scopeId);
    if (!device) throw new AccessError(404, `device ${scopeId} not found`);
  }
  const access = scopeAccess(p, scope, device);
  if (access === 'forbidden') throw new AccessError(403, `an engineer sees only their own firm and its devices; ask for scope=firm&id=${p.firmId ?? ''}`);
  if (access === 'not-found') throw new AccessError(404, `${k} ${scopeId} not found`);
  if (k === 'firm') {
    firm = await registry.getFirm(scopeId);
    if (!firm) throw new AccessError(404, `firm ${scopeId} not found`);
  }
  return { scope, ...(firm ? { firm } : {}), ...(device ? { device } : {}) };
}

/** ms since the epoch or an RFC 3339 date-time. */
export function toMs(v: number | string | undefined, def: number, name: string): number {
  if (v === undefined) return def;
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new AccessError(400, `${name} is not a time: "${v}"`);
  return ms;
}

export function range(fromIn: number | string | undefined, toIn: number | string | undefined, defSpanMs: number, maxSpanMs: number, now = Date.now()): { from: number; to: number } {
  const to = toMs(toIn, now, 'to');
  const from = toMs(fromIn, to - defSpanMs, 'from');
  if (!(from < to)) throw new AccessError(400, 'from must be before to');
  if (to - from > maxSpanMs) throw new AccessError(400, `the range may span at most ${Math.round(maxSpanMs / 86_400_000)} days`);
  return { from, to };
}
