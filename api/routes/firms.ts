// Firms and their devices: create, list, edit (every change dated and audited; the firm's history is kept),
// provision (the device token is shown once, in the 201 response; a device id in use or ever used, in any firm,
// is refused with one message that does not say which).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { usccProblem } from '../../common/ids.ts';
import { PARKS, SMART_FACTORY_TIERS, countyCodes, parkIds, type SmartFactoryTier } from '../../common/places.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { ConflictError, NotFoundError, type ApiPrincipal, type Firm as FirmRecord, type FirmAttributes, type Registry } from '../../common/registry/registry.ts';
import { localDate, parseLocalDate } from '../../common/time.ts';
import { assertFirmVisible, audit, requireRole, visibleFirm } from '../access.ts';
import { deviceConnection, type MqttEndpoints } from '../connection.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { expiryOf } from './tokens.ts';
import {
  Device, ErrorBody, Firm, FirmParams, MAX_FIRM_EMPLOYEES, MAX_FIRM_LAND_MU, NewDeviceBody, NewFirmBody, Nullable, ProvisionedDevice, lit,
} from '../schemas.ts';

const LocalDate = (description: string) => Type.String({ format: 'date', description: `${description} (YYYY-MM-DD, Asia/Shanghai)` });

const FirmPatchBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  aboveScale: Type.Optional(Type.Boolean({ description: '规上企业; becoming above-scale without aboveScaleSince: since validFrom' })),
  aboveScaleSince: Type.Optional(Nullable(LocalDate('from when the firm is above-scale (小升规)'))),
  smartFactoryTier: Type.Optional(lit(SMART_FACTORY_TIERS)),
  smartFactoryCertificateId: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64, description: 'certificate number of the smart-factory tier' }))),
  smartFactoryCertifiedOn: Type.Optional(Nullable(LocalDate('date of the smart-factory certificate'))),
  employees: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_FIRM_EMPLOYEES, description: `people employed, at most ${MAX_FIRM_EMPLOYEES}` })),
  landMu: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_FIRM_LAND_MU, description: `land in mu, at most ${MAX_FIRM_LAND_MU}` })),
  park: Type.Optional(lit(parkIds)),
  county: Type.Optional(lit(countyCodes)),
  validFrom: Type.Optional(LocalDate('from when the change holds; default today, or aboveScaleSince when that is set')),
  note: Type.Optional(Type.String({ maxLength: 500, description: 'why, kept in the audit trail' })),
}, { additionalProperties: false });
type FirmPatch = typeof FirmPatchBody.static;

/** What each role may change: engineers their own firm's head-count and land only; the county only admin. */
const ENGINEER_FIELDS: ReadonlySet<string> = new Set(['employees', 'landMu']);
const ADMIN_ONLY_FIELDS: ReadonlySet<string> = new Set(['county']);
const NOT_ATTRIBUTES: ReadonlySet<string> = new Set(['validFrom', 'note']);

function assertMayChange(p: ApiPrincipal, patch: FirmPatch): void {
  const fields = Object.keys(patch).filter((k) => !NOT_ATTRIBUTES.has(k));
  if (fields.length === 0) throw new HttpError(400, 'nothing to change: give at least one of the firm\'s attributes');
  const refused = p.role === 'engineer' ? fields.filter((k) => !ENGINEER_FIELDS.has(k)) : p.role === 'bureau' ? fields.filter((k) => ADMIN_ONLY_FIELDS.has(k)) : [];
  if (refused.length > 0) {
    throw new HttpError(403, p.role === 'engineer'
      ? `an engineer may change only employees and landMu of their own firm, not ${refused.join(', ')}`
      : `only admin may move a firm to another county (${refused.join(', ')})`);
  }
}

/** A firm's park lies in its county; 400 naming the county's parks otherwise. */
function assertParkInCounty(park: string, county: string): void {
  if (PARKS.find((p) => p.id === park)?.county !== county) {
    throw new HttpError(400, `park ${park} is not in county ${county}; its parks: ${PARKS.filter((p) => p.county === county).map((p) => p.id).join(', ')}`);
  }
}

const NEEDS_ABOVE_SCALE = 'aboveScaleSince needs aboveScale true';
const CERTIFICATE_NEEDS_TIER = 'a smart-factory certificate needs a smartFactoryTier other than none';

const pastOrToday = (field: string, date: string, today: string) => {
  if (parseLocalDate(date) === undefined) throw new HttpError(400, `${field} ${date} is not a calendar date`);
  if (date > today) throw new HttpError(400, `${field} ${date} is in the future; enter a change once it holds`);
};

type Checked = Pick<FirmAttributes, 'park' | 'county' | 'aboveScale' | 'smartFactoryTier'>
  & Partial<Pick<FirmAttributes, 'aboveScaleSince' | 'smartFactoryCertificateId' | 'smartFactoryCertifiedOn'>>;

/** What every firm keeps to, when registered and after each change; 400 with the reason otherwise. */
function assertConsistent(a: Checked, today: string): void {
  assertParkInCounty(a.park, a.county);
  if (!a.aboveScale && a.aboveScaleSince) throw new HttpError(400, NEEDS_ABOVE_SCALE);
  if (a.aboveScaleSince) pastOrToday('aboveScaleSince', a.aboveScaleSince, today);
  if (a.smartFactoryTier === 'none' && (a.smartFactoryCertificateId || a.smartFactoryCertifiedOn)) throw new HttpError(400, CERTIFICATE_NEEDS_TIER);
  if (a.smartFactoryCertifiedOn) pastOrToday('smartFactoryCertifiedOn', a.smartFactoryCertifiedOn, today);
}

/** The attributes a patch sets, checked with the firm as it would be; 400 with the reason otherwise. */
export function firmChanges(firm: FirmRecord, patch: FirmPatch, today: string): { changes: Partial<FirmAttributes>; validFrom: string } {
  const { validFrom: givenFrom, note: _note, smartFactoryTier: tierIn, ...rest } = patch;
  // The schema admits only the tiers; the type provider sees a string.
  const changes: Partial<FirmAttributes> = { ...rest, ...(tierIn === undefined ? {} : { smartFactoryTier: tierIn as SmartFactoryTier }) };
  if (givenFrom !== undefined) pastOrToday('validFrom', givenFrom, today);
  // A patch that contradicts itself is refused before the dates that follow from it are filled in.
  if (changes.aboveScale === false && changes.aboveScaleSince) throw new HttpError(400, NEEDS_ABOVE_SCALE);
  if (changes.smartFactoryTier === 'none' && (changes.smartFactoryCertificateId || changes.smartFactoryCertifiedOn)) throw new HttpError(400, CERTIFICATE_NEEDS_TIER);
  const validFrom = givenFrom ?? changes.aboveScaleSince ?? today;
  // Becoming above-scale (小升规) counts from the change on, not from the registration; leaving clears the date.
  if (changes.aboveScale === true && !firm.aboveScale && !changes.aboveScaleSince) changes.aboveScaleSince = validFrom;
  if (changes.aboveScale === false) changes.aboveScaleSince = null;
  if (changes.smartFactoryTier === 'none') Object.assign(changes, { smartFactoryCertificateId: null, smartFactoryCertifiedOn: null });
  assertConsistent({ ...firm, ...changes }, today);
  return { changes, validFrom };
}

const FirmVersionSchema = Type.Object({
  id: Type.Integer(), firmId: Type.String(), validFrom: Type.String(), recordedAt: Type.Integer(), recordedBy: Type.String(),
  changes: Type.Record(Type.String(), Type.Unknown(), { description: 'the attributes this version set (the registration: all of them)' }),
});

export const firmRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; mqtt?: MqttEndpoints | undefined }> = async (app, { registry, mqtt }) => {
  app.post('/firms', {
    schema: { tags: ['firms'], summary: 'Register a firm (admin, bureau)', body: NewFirmBody, response: { 201: Firm, 400: ErrorBody, 409: ErrorBody } },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin', 'bureau');
    const b = req.body;
    const problem = usccProblem(b.id);
    if (problem) throw new HttpError(400, `id is not a valid unified social credit code: ${problem}`);
    const smartFactoryTier = b.smartFactoryTier ?? 'none';
    assertConsistent({ ...b, smartFactoryTier }, localDate(Date.now()));
    const firm = await httpErrors(() => registry.createFirm({ ...b, smartFactoryTier, demo: b.demo ?? false }), [[ConflictError, 409]]);
    await audit(registry, req.principal, 'firm.create', firm.id, { name: firm.name, county: firm.county, aboveScale: firm.aboveScale });
    return reply.code(201).send(firm);
  });

  app.get('/firms', { schema: { tags: ['firms'], summary: 'List firms (engineers see their own)', response: { 200: Type.Array(Firm) } } }, async (req) => {
    const firms = await registry.listFirms();
    return req.principal.role === 'engineer' ? firms.filter((f) => f.id === req.principal.firmId) : firms;
  });

  app.get('/firms/:firmId', { schema: { tags: ['firms'], summary: 'One firm (engineers: their own only)', params: FirmParams, response: { 200: Firm, 404: ErrorBody } } }, async (req) => {
    return visibleFirm(registry, req.principal, req.params.firmId);
  });

  app.patch('/firms/:firmId', {
    schema: {
      tags: ['firms'], params: FirmParams, body: FirmPatchBody,
      summary: 'Change a firm (admin, bureau; engineers: their own firm\'s employees and landMu; the county: admin only); dated, audited, its history kept',
      response: { 200: Firm, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    const firm = await visibleFirm(registry, req.principal, req.params.firmId);
    assertMayChange(req.principal, req.body);
    const now = Date.now();
    const { changes, validFrom } = firmChanges(firm, req.body, localDate(now));
    const updated = await httpErrors(() => registry.updateFirm(firm.id, { changes, validFrom, recordedAt: now, recordedBy: `${req.principal.name} (${req.principal.role}, token ${req.principal.tokenId})` }), [[NotFoundError, 404]]);
    const before = Object.fromEntries(Object.keys(changes).map((k) => [k, firm[k as keyof FirmAttributes]]));
    await audit(registry, req.principal, 'firm.update', firm.id, { validFrom, changes, before, note: req.body.note ?? '' });
    return updated;
  });

  app.get('/firms/:firmId/history', {
    schema: {
      tags: ['firms'], summary: 'The dated versions of a firm, in the order they were recorded (engineers: their own firm)',
      params: FirmParams, response: { 200: Type.Array(FirmVersionSchema), 404: ErrorBody },
    },
  }, async (req) => {
    await visibleFirm(registry, req.principal, req.params.firmId);
    return registry.firmHistory(req.params.firmId);
  });

  app.post('/firms/:firmId/devices', {
    schema: {
      tags: ['devices'], summary: 'Provision a device under a firm; the token is returned only here',
      params: FirmParams, body: NewDeviceBody, response: { 201: ProvisionedDevice, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin', 'engineer');
    assertFirmVisible(req.principal, req.params.firmId);
    const { tokenExpiresAt, ...body } = req.body;
    const expiresAt = expiryOf(tokenExpiresAt, 'tokenExpiresAt');
    const { device, token } = await httpErrors(
      () => registry.createDevice({ firmId: req.params.firmId, ...body, ...(expiresAt === undefined ? {} : { tokenExpiresAt: expiresAt }) }), [[NotFoundError, 404], [ConflictError, 409]]);
    await audit(registry, req.principal, 'device.provision', device.id, { firmId: device.firmId, type: device.type, name: device.name });
    const topicPrefix = topicFor(device.firmId, device.id, 'telemetry').replace(/\/telemetry$/, '');
    return reply.code(201).send({ ...device, token, mqtt: { username: device.id, clientId: device.id, topicPrefix }, connect: deviceConnection(device, mqtt, req) });
  });

  app.get('/firms/:firmId/devices', { schema: { tags: ['devices'], summary: 'The devices of a firm', params: FirmParams, response: { 200: Type.Array(Device), 404: ErrorBody } } }, async (req) => {
    await visibleFirm(registry, req.principal, req.params.firmId);
    return registry.listDevices(req.params.firmId);
  });
};
