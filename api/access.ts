// Role checks for /api/v1, free of Fastify: admin may do everything; bureau reads everything and manages firms;
// an engineer sees only their own firm and its devices (another firm's answers 404, as if it did not exist).
// The scope rule itself (scopeAccess) lives in the analytics base layer, which the live rooms share.
import type { ApiPrincipal, ApiTokenInfo, Device, Firm, Registry, Role } from '../common/registry/registry.ts';
import type { Actor } from '../analytics/base/db.ts';
import { scopeAccess, scopeProblem, type Scope, type ScopeKind } from '../analytics/base/scope.ts';
import { HttpError } from './errors.ts';

export function actorOf(p: ApiPrincipal): Actor {
  return { name: p.name, tokenId: p.tokenId };
}

/** Records who did what to which target in the audit trail. */
export function audit(registry: Registry, p: ApiPrincipal, action: string, target: string, detail: object): Promise<void> {
  return registry.recordAudit({ at: Date.now(), actor: `${p.name} (${p.role}, ${p.userId === undefined ? `token ${p.tokenId}` : `user ${p.userId}`})`, action, target, detail: JSON.stringify(detail) });
}

export function requireRole(p: ApiPrincipal, ...roles: Role[]): void {
  if (!roles.includes(p.role)) throw new HttpError(403, `this needs the role ${roles.join(' or ')}; your token has ${p.role}`);
}

export function mayReadFirm(p: ApiPrincipal, firmId: string): boolean {
  return p.role !== 'engineer' || p.firmId === firmId;
}

export function assertFirmVisible(p: ApiPrincipal, firmId: string): void {
  if (!mayReadFirm(p, firmId)) throw new HttpError(404, `firm ${firmId} not found`);
}

/** The firm, when it exists and the caller may see it; 404 otherwise. */
export async function visibleFirm(registry: Registry, p: ApiPrincipal, firmId: string): Promise<Firm> {
  assertFirmVisible(p, firmId);
  const firm = await registry.getFirm(firmId);
  if (!firm) throw new HttpError(404, `firm ${firmId} not found`);
  return firm;
}

/** The device, when it exists and the caller may see its firm; 404 otherwise. */
export async function visibleDevice(registry: Registry, p: ApiPrincipal, id: string): Promise<Device> {
  const device = await registry.getDevice(id);
  if (!device || !mayReadFirm(p, device.firmId)) throw new HttpError(404, `device ${id} not found`);
  return device;
}

/** The API token, when it exists and the caller may see it: an engineer only their own firm's; 404 otherwise. */
export async function visibleToken(registry: Registry, p: ApiPrincipal, tokenId: string): Promise<ApiTokenInfo> {
  const t = await registry.getApiToken(tokenId);
  if (!t || (p.role === 'engineer' && t.firmId !== p.firmId)) throw new HttpError(404, `token ${tokenId} not found`);
  return t;
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
  if (k !== 'prefecture' && scopeId === '') throw new HttpError(400, `scope=${k} needs id=<${k} id>`);
  const scope: Scope = { kind: k, id: scopeId };
  const problem = scopeProblem(scope);
  if (problem) throw new HttpError(400, problem);
  let firm: Firm | undefined;
  let device: Device | undefined;
  if (k === 'device') {
    device = await registry.getDevice(scopeId);
    if (!device) throw new HttpError(404, `device ${scopeId} not found`);
  }
  const access = scopeAccess(p, scope, device);
  if (access === 'forbidden') throw new HttpError(403, `an engineer sees only their own firm and its devices; ask for scope=firm&id=${p.firmId ?? ''}`);
  if (access === 'not-found') throw new HttpError(404, `${k} ${scopeId} not found`);
  if (k === 'firm') {
    firm = await registry.getFirm(scopeId);
    if (!firm) throw new HttpError(404, `firm ${scopeId} not found`);
  }
  return { scope, ...(firm ? { firm } : {}), ...(device ? { device } : {}) };
}
