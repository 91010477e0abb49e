// The plan tracker (admin and bureau): every quantified target of the 2025–2027 action plan, entered values
// with who entered them and when, the connected share against the registered firms and against the statistics
// bureau's official counts (entered per county and year), breakdowns, trend and projection, firms' yearly output
// value and tax, and the per-mu / per-capita ranking (亩均论英雄) with each firm's energy coverage. Demo firms
// are left out unless ?includeDemo=true, and every answer says so.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf, audit, requireRole, visibleFirm } from '../access.ts';
import { HttpError, httpErrors } from '../errors.ts';
import type { Monitoring } from '../../analytics/index.ts';
import { localParts, localMonth } from '../../common/time.ts';
import { countyCodes, segmentIds } from '../../common/places.ts';
import { targetDef, TARGETS } from '../../analytics/plan/targets.ts';
import type { Registry } from '../../common/registry/registry.ts';
import { ErrorBody, FirmParams, Nullable, ShareFields, addSchemas, lit, litOf, ref } from '../schemas.ts';

interface PlanRouteOptions { registry: Registry; monitoring: Monitoring }
const Year = Type.Integer({ minimum: 2000, maximum: 2100 });

const TargetStatus = Type.Object({
  id: Type.String(), zh: Type.String(), en: Type.String(), quote: Type.String(), target: Type.Number(), unit: Type.String(), period: Type.String(), source: Type.String(), enterable: Type.Boolean(),
  year: Type.Integer(), value: Nullable(Type.Number()), progress: Nullable(Type.Number()), met: Nullable(Type.Boolean()), valueSource: Type.String(),
  enteredBy: Nullable(Type.String()), enteredByToken: Nullable(Type.String()), enteredAt: Nullable(Type.Integer()), note: Nullable(Type.String()),
  fromFirmFigures: Nullable(Type.Object({ year: Type.Integer(), value: Type.Number(), firms: Type.Integer() })), explanation: Type.String(),
});
const EntrySchema = Type.Object({ id: Type.Integer(), targetId: Type.String(), year: Type.Integer(), value: Type.Number(), note: Type.String(), enteredBy: Type.String(), enteredByToken: Type.String(), enteredAt: Type.Integer() }, { $id: 'PlanEntry' });
const Entry = ref(EntrySchema);
const FiguresSchema = Type.Object({ firmId: Type.String(), year: Type.Integer(), outputValueYuan: Nullable(Type.Number()), taxYuan: Nullable(Type.Number()), enteredBy: Type.String(), enteredAt: Type.Integer() }, { $id: 'FirmFigures' });
const Figures = ref(FiguresSchema);
const WeightsSchema = Type.Object({ taxPerMu: Type.Number({ minimum: 0 }), outputPerMu: Type.Number({ minimum: 0 }), outputPerEmployee: Type.Number({ minimum: 0 }), outputPerTce: Type.Number({ minimum: 0 }) }, { additionalProperties: false, $id: 'PerMuWeights' });
const Weights = ref(WeightsSchema);
const WeightsView = Type.Object({ weights: Weights, updatedBy: Nullable(Type.String()), updatedAt: Nullable(Type.Integer()) });
const TargetParams = Type.Object({ targetId: lit(TARGETS.map((t) => t.id)) });
const IncludeDemo = Type.Optional(Type.Boolean({ description: 'count the demo firms `npm start` seeds (left out by default)' }));
const DemoFields = {
  includeDemo: Type.Boolean({ description: 'whether demo firms were counted' }),
  demoFirmsLeftOut: Type.Integer({ description: 'demo firms left out of the figures (0 when included)' }),
};
/** An official count, entered by bureau staff: at most this many above-scale firms in one county. */
const MAX_OFFICIAL_COUNT = 100_000;
const OfficialCountRow = Type.Object({
  county: Type.String(), name: Type.String(), year: Type.Integer(),
  count: Nullable(Type.Integer(), { description: 'above-scale firms the statistics bureau counts; null: none entered for this county and year' }),
  note: Nullable(Type.String()), enteredBy: Nullable(Type.String()), enteredByToken: Nullable(Type.String()), enteredAt: Nullable(Type.Integer()),
});
const OfficialShare = Type.Object({
  year: Type.Integer(), aboveScaleFirms: Nullable(Type.Integer(), { description: 'sum of the official counts; null unless every county has one' }),
  connected: Type.Integer(), share: Nullable(Type.Number()), missingCounties: Type.Array(Type.String()), definition: Type.String(), note: Nullable(Type.String()),
});
const Coverage = Type.Object({ daysWithData: Type.Integer(), days: Type.Integer(), coverage: Type.Number(), enough: Type.Boolean() });
const PerMuRow = Type.Object({
  firmId: Type.String(), name: Type.String(), county: Type.String(), park: Type.String(), segment: Type.String(), aboveScale: Type.Boolean(), demo: Type.Boolean(),
  landMu: Type.Number(), employees: Type.Integer(),
  outputValueYuan: Nullable(Type.Number()), taxYuan: Nullable(Type.Number()), energyTce: Nullable(Type.Number()),
  energyCoverage: Type.Object(Coverage.properties, { description: 'local days of the year so far with energy readings; the firm is ranked only when enough' }),
  outputPerMu: Nullable(Type.Number()), taxPerMu: Nullable(Type.Number()), energyTcePerMu: Nullable(Type.Number()),
  outputPerEmployee: Nullable(Type.Number()), taxPerEmployee: Nullable(Type.Number()), energyTcePerEmployee: Nullable(Type.Number()), outputPerTce: Nullable(Type.Number()),
  score: Nullable(Type.Number()), rankInCounty: Nullable(Type.Integer()), countyFirmsRanked: Type.Integer(), rankInSegment: Nullable(Type.Integer()), segmentFirmsRanked: Type.Integer(),
  missing: Type.Array(Type.String()),
});

/** The action plan's targets: values computed or entered. */
const planTargetRoutes: FastifyPluginAsyncTypebox<PlanRouteOptions> = async (app, { monitoring: m }) => {
  app.get('/plan/targets', {
    schema: {
      tags: ['plan'], summary: 'Every quantified target of the 2025–2027 action plan with its current value, source and progress (admin, bureau)',
      querystring: Type.Object({ year: Type.Optional(Year), includeDemo: IncludeDemo }),
      response: { 200: Type.Object({ year: Type.Integer(), asOf: Type.Integer(), ...DemoFields, targets: Type.Array(TargetStatus) }), 403: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    const now = Date.now();
    const year = req.query.year ?? localParts(now).year;
    const { targets, demo } = await m.plan.targets(year, now, req.query.includeDemo ?? false);
    return { year, asOf: now, ...demo, targets };
  });

  app.put('/plan/targets/:targetId', {
    schema: {
      tags: ['plan'], summary: 'Enter the current value of a target that is not computed (admin, bureau); who and when are recorded, history is kept',
      params: TargetParams,
      body: Type.Object({ value: Type.Number({ minimum: 0 }), year: Type.Optional(Year), note: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
      response: { 200: Entry, 400: ErrorBody, 403: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    const def = targetDef(req.params.targetId);
    if (!def) throw new HttpError(400, `unknown target ${req.params.targetId}`);
    if (!def.enterable) throw new HttpError(400, `${def.id} is computed from the ${def.source}; it cannot be entered`);
    const entry = m.planStore.enter(def.id, req.body.year ?? localParts(Date.now()).year, req.body.value, req.body.note ?? '', actorOf(req.principal));
    req.log.info({ target: def.id, by: req.principal.tokenId }, 'plan value entered');
    return entry;
  });

  app.get('/plan/targets/:targetId/history', {
    schema: {
      tags: ['plan'], summary: 'Every value entered for a target, newest first (admin, bureau)',
      params: TargetParams, response: { 200: Type.Array(Entry), 403: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    return m.planStore.history(req.params.targetId);
  });
};

/** The connected share against the registered firms and the official counts, its monthly snapshots. */
const planShareRoutes: FastifyPluginAsyncTypebox<PlanRouteOptions> = async (app, { registry, monitoring: m }) => {

  app.get('/plan/connected-share', {
    schema: {
      tags: ['plan'], summary: 'Share of above-scale firms connected to the platform: definition, by county, park and segment, monthly trend, projection to 2027-12 (admin, bureau)',
      querystring: Type.Object({
        windowDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'connected = valid telemetry within this many days (default CONNECTED_WINDOW_DAYS)' })),
        includeDemo: IncludeDemo,
      }),
      response: {
        200: Type.Object({
          ...ShareFields, ...DemoFields, target: Type.Number(), targetYear: Type.Integer(), windowDays: Type.Integer(), asOf: Type.Integer(),
          definition: Type.String({ description: 'of the registered share (aboveScaleFirms, connected, share)' }),
          official: OfficialShare,
          byCounty: Type.Array(Type.Object({
            id: Type.String(), name: Type.String(), ...ShareFields,
            official: Type.Object({ count: Nullable(Type.Integer()), share: Nullable(Type.Number()), enteredBy: Nullable(Type.String()), enteredAt: Nullable(Type.Integer()) }),
          })),
          byPark: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), county: Type.String(), ...ShareFields })),
          bySegment: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), ...ShareFields })),
          trend: Type.Array(Type.Object({
            month: Type.String(), ...ShareFields, ...DemoFields, officialShare: Nullable(Type.Number()), current: Type.Boolean(),
            basis: litOf(['firm-history', 'stored'] as const),
          }, { description: 'firm-history: recomputed from the firms as they were at the end of the month; stored: as kept then (demo firms counted)' })),
          projection: Type.Object({ method: Type.String(), month: Type.String(), share: Nullable(Type.Number()), onTrack: Nullable(Type.Boolean()), reachesTargetIn: Nullable(Type.String()), reason: Nullable(Type.String()) }),
        }),
        403: ErrorBody,
      },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    return m.plan.connectedShare(req.query.windowDays, Date.now(), req.query.includeDemo ?? false);
  });

  app.get('/plan/official-counts', {
    schema: {
      tags: ['plan'], summary: 'The statistics bureau\'s count of above-scale firms per county for a year, as entered (admin, bureau); null where none was entered',
      querystring: Type.Object({ year: Type.Optional(Year) }),
      response: { 200: Type.Object({ year: Type.Integer(), counties: Type.Array(OfficialCountRow) }), 403: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    const year = req.query.year ?? localParts(Date.now()).year;
    return { year, counties: m.plan.officialCounts(year) };
  });

  app.put('/plan/official-counts/:county/:year', {
    schema: {
      tags: ['plan'], summary: 'Enter the statistics bureau\'s count of above-scale firms of a county for a year (admin, bureau); who and when are recorded and audited, every entry kept',
      params: Type.Object({ county: lit(countyCodes), year: Year }),
      body: Type.Object({ count: Type.Integer({ minimum: 0, maximum: MAX_OFFICIAL_COUNT }), note: Type.Optional(Type.String({ maxLength: 500, description: 'source, e.g. 统计局年报' })) }, { additionalProperties: false }),
      response: { 200: OfficialCountRow, 400: ErrorBody, 403: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    const { county, year } = req.params;
    const e = m.planStore.enterOfficialCount(county, year, req.body.count, req.body.note ?? '', actorOf(req.principal));
    await audit(registry, req.principal, 'plan.official-count', `county:${county}`, { year, count: e.value, note: e.note });
    return m.plan.officialCounts(year).find((c) => c.county === county);
  });

  app.post('/plan/snapshots', {
    schema: { tags: ['plan'], summary: 'Store this month\'s KPI snapshot now (admin); a timer also does this', response: { 200: Type.Object({ month: Type.String() }), 403: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin');
    return { month: await m.plan.snapshot() };
  });

  app.get('/plan/months', {
    schema: { tags: ['plan'], summary: 'Months with KPI snapshots (admin, bureau)', response: { 200: Type.Object({ current: Type.String(), months: Type.Array(Type.String()) }), 403: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    return { current: localMonth(Date.now()), months: m.planStore.snapshots('connectedShare').map((s) => s.month) };
  });
};

/** Firms' yearly figures and the per-mu ranking with its weights. */
const planFirmRoutes: FastifyPluginAsyncTypebox<PlanRouteOptions> = async (app, { registry, monitoring: m }) => {
  const weightsView = () => {
    const w = m.planStore.weights();
    return { weights: w.value, updatedBy: w.updatedBy, updatedAt: w.updatedAt };
  };

  app.get('/plan/firms/:firmId/figures', {
    schema: { tags: ['plan'], summary: 'A firm\'s yearly output value and tax as entered (engineers: their own firm)', params: FirmParams, response: { 200: Type.Array(Figures), 404: ErrorBody } },
  }, async (req) => {
    await visibleFirm(registry, req.principal, req.params.firmId);
    return m.planStore.firmFigures(req.params.firmId);
  });

  app.put('/plan/firms/:firmId/figures/:year', {
    schema: {
      tags: ['plan'], summary: 'Enter a firm\'s output value and tax for a year in yuan (admin, bureau)',
      params: Type.Object({ firmId: Type.String({ maxLength: 18 }), year: Year }),
      body: Type.Object({ outputValueYuan: Nullable(Type.Number({ minimum: 0 })), taxYuan: Nullable(Type.Number({ minimum: 0 })) }, { additionalProperties: false }),
      response: { 200: Figures, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    await visibleFirm(registry, req.principal, req.params.firmId);
    return m.planStore.setFigures(req.params.firmId, req.params.year, req.body.outputValueYuan, req.body.taxYuan, actorOf(req.principal));
  });

  app.get('/plan/per-mu', {
    schema: {
      tags: ['plan'], summary: '亩均论英雄: output value, energy and tax per mu and per employee, scored with configurable weights, ranked within county and segment (engineers: their own firm\'s row)',
      querystring: Type.Object({ year: Type.Optional(Year), county: Type.Optional(lit(countyCodes)), segment: Type.Optional(lit(segmentIds)), includeDemo: IncludeDemo }),
      response: {
        200: Type.Object({
          year: Type.Integer(), weights: Weights, basis: Type.String(), ...DemoFields,
          outputMeasure: Type.Object({ kind: Type.String(), zh: Type.String(), en: Type.String(), note: Type.String() }, { description: 'what the output figure is: 产值 (gross output value), not 增加值 (value added)' }),
          minCoverage: Type.Number({ description: 'share of the days with energy readings a firm needs to be scored and ranked' }),
          indicators: Type.Record(Type.String(), Type.String()), firms: Type.Array(PerMuRow), notes: Type.Array(Type.String()),
          provisional: Nullable(Type.Object({ until: Nullable(Type.Integer()), dirtyQuarters: Type.Integer(), firms: Type.Integer() }), {
            description: 'the energy figures read rollups that do not reflect every stored reading yet (a backfill just stored): they may still grow. null: final as far as stored',
          }),
        }),
        403: ErrorBody,
      },
    },
  }, async (req) => {
    const p = req.principal;
    const year = req.query.year ?? localParts(Date.now()).year;
    const filter = {
      ...(req.query.county ? { county: req.query.county } : {}), ...(req.query.segment ? { segment: req.query.segment } : {}),
      ...(p.role === 'engineer' ? { firmId: p.firmId ?? '' } : {}),
    };
    return m.plan.perMu(year, Date.now(), filter, req.query.includeDemo ?? false);
  });

  app.get('/plan/per-mu/weights', {
    schema: { tags: ['plan'], summary: 'Weights of the per-mu score', response: { 200: WeightsView } },
  }, async () => weightsView());

  app.put('/plan/per-mu/weights', {
    schema: { tags: ['plan'], summary: 'Set the weights of the per-mu score (admin, bureau)', body: Weights, response: { 200: WeightsView, 400: ErrorBody, 403: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    await httpErrors(() => m.planStore.setWeights(req.body, actorOf(req.principal)), [[RangeError, 400]]);
    return weightsView();
  });
};

export const planRoutes: FastifyPluginAsyncTypebox<PlanRouteOptions> = async (app, opts) => {
  addSchemas(app, [EntrySchema, FiguresSchema, WeightsSchema]);
  await app.register(planTargetRoutes, opts);
  await app.register(planShareRoutes, opts);
  await app.register(planFirmRoutes, opts);
};
