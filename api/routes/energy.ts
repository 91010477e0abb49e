// Energy: live rates, consumption over a range (electricity, gas, steam, water) in physical units and standard
// coal with the basis named, series, intensity per unit of output against the benchmarks, data quality per
// GB/T 38692-2020 and the 15-minute rollups as CSV. Scopes: prefecture, county, park, segment, firm, device.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BASES, BENCHMARKS, CARRIERS, DEFAULT_FACTORS, HEAT_KGCE_PER_MJ, type BasisId } from '../../analytics/energy/factors.ts';
import { BREAKDOWNS } from '../../analytics/energy/service.ts';
import { STEAM_SOURCES } from '../../analytics/energy/carriers.ts';
import { enteredSteamSource } from '../../analytics/energy/settings.ts';
import { energyOutputRoutes } from './energy-output.ts';
import type { Monitoring } from '../../analytics/index.ts';
import type { Scope } from '../../analytics/base/scope.ts';
import { actorOf, requireRole, resolveScope, visibleFirm } from '../access.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { range, toMs } from '../time-range.ts';
import { CsvQuery, CsvResponses, SCOPE_ZH, dayRange, fileName, sendCsv } from '../csv.ts';
import { DAY, HOUR, MINUTE, localDayStart, localParts, parseLocalDate, parseLocalMonth, localMonth } from '../../common/time.ts';
import type { ApiPrincipal, Registry } from '../../common/registry/registry.ts';
import { ErrorBody, FirmParams, Nullable, ScopeBody, ScopeQuery, TimeParam, addSchemas, lit, litOf, ref } from '../schemas.ts';

interface EnergyRouteOptions { registry: Registry; monitoring: Monitoring }

const BasisSchema = Type.Object({
  id: Type.String(), zh: Type.String(), en: Type.String(), standard: Type.String(), year: Type.Integer(),
  factors: Type.Record(Type.String(), Type.Object({ kgcePerUnit: Type.Number(), unit: Type.String() })),
  includesWater: Type.Boolean(), note: Type.String(),
}, { $id: 'EnergyBasis', description: 'GB/T 2589-2020 basis of every kgce figure: 当量值 (calorific) or 等价值 (primary, per-year electricity factor)' });
const Basis = ref(BasisSchema);

const CarrierFigure = Type.Object({ unit: Type.String(), measured: Type.Number(), counted: Type.Number(), kgce: Type.Number() });
const Carriers = Type.Object(Object.fromEntries(CARRIERS.map((c) => [c, CarrierFigure])));
const Outputs = Type.Object({ fabric: Type.Object({ unit: Type.String(), value: Type.Number() }), yarn: Type.Object({ unit: Type.String(), value: Type.Number() }), pieces: Type.Object({ unit: Type.String(), value: Type.Number() }) });
const Boundary = Type.Object({
  steamSource: Nullable(Type.String({ description: 'bought, own-boiler, cogeneration, mixed (firms with different rules), or null (a device\'s own figure)' })),
  firms: Type.Record(Type.String(), Type.Integer(), { description: 'firms counted with each steam source' }),
  carriers: Type.Object(Object.fromEntries(CARRIERS.map((c) => [c, Type.Object({
    rule: Nullable(Type.String({ description: 'meters, machines, not-counted (made inside from counted fuel), mixed (firms differ), or null (a device\'s own register)' })),
    zh: Type.String(), en: Type.String(),
  })])), { description: 'how each carrier was counted at the plant boundary' }),
}, { description: 'the plant-boundary rule the figure was counted with' });
const ElectricityFlows = Type.Object({
  unit: Type.String(), export: Type.Number({ description: 'fed to the grid (export registers of bidirectional grid meters)' }),
  generation: Type.Number({ description: 'generated on site (generation registers of meters at generators)' }),
}, { description: 'measured, never counted: purchased electricity is the grid import, and own generation\'s fuel is counted where it enters' });
const Figures = { carriers: Carriers, boundary: Boundary, totalKgce: Type.Number(), totalTce: Type.Number(), outputs: Outputs, electricityFlows: ElectricityFlows };
const ProvisionalSchema = Type.Object({
  until: Nullable(Type.Integer({ description: 'when the rollup job will have included them (ms); null when no job runs in this process' })),
  dirtyQuarters: Type.Integer({ description: 'firm-quarters in the range and scope with stored data the rollups do not reflect yet' }),
  firms: Type.Integer(),
}, { $id: 'EnergyProvisional', description: 'The figure was read from rollups that do not reflect every stored reading yet (e.g. a backfill just stored): it may still grow. null: final as far as stored.' });
const Provisional = Nullable(ref(ProvisionalSchema));
const Benchmarks = Type.Object({
  dyeingKgcePer100m: Type.Number(), dyeingWaterTPer100m: Type.Number(), silkKgcePer100m: Type.Number(), silkWaterTPer100m: Type.Number(),
  knitKgcePerT: Type.Number(), knitWaterTPerT: Type.Number(), ringSpinningKwhPerKg: Type.Number(),
});

const FactorConfigSchema = Type.Object({
  electricity: Type.Object({
    calorific: Type.Number({ exclusiveMinimum: 0 }),
    primaryByYear: Type.Record(Type.String({ pattern: '^\\d{4}$' }), Type.Number({ exclusiveMinimum: 0 })),
    primaryDefault: Type.Number({ exclusiveMinimum: 0 }),
  }, { additionalProperties: false }),
  gas: Type.Number({ exclusiveMinimum: 0 }),
  steam: Type.Object({ calorific: Type.Number({ exclusiveMinimum: 0 }), primary: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }),
  water: Type.Number({ exclusiveMinimum: 0 }),
  includeWater: Type.Boolean(),
}, { additionalProperties: false, $id: 'EnergyFactorConfig' });
const FactorConfig = ref(FactorConfigSchema);

const FactorsSchema = Type.Object({
  config: FactorConfig, defaults: FactorConfig, updatedBy: Nullable(Type.String()), updatedAt: Nullable(Type.Integer()),
  bases: Type.Object({ calorific: Basis, primary: Basis }), heatKgcePerMJ: Type.Number(), benchmarks: Benchmarks,
}, { $id: 'EnergyFactors' });
const Factors = ref(FactorsSchema);

const FirmEnergySchema = Type.Object({
  firmId: Type.String(), steamSource: Nullable(litOf(STEAM_SOURCES), { description: 'as entered; null: never entered' }),
  rule: Type.Object({ source: litOf(STEAM_SOURCES), from: litOf(['entered', 'boiler-meter', 'default'] as const), zh: Type.String(), en: Type.String() }, { description: 'the steam source the firm is counted with: entered, else own-boiler when a gas meter is at a boiler (锅炉), else bought' }),
  cogeneration: Type.Boolean({ description: 'rule.source is cogeneration (the flag this setting replaced)' }),
  note: Type.String(), updatedBy: Nullable(Type.String()), updatedAt: Nullable(Type.Integer()),
}, { $id: 'FirmEnergySettings' });
const FirmEnergy = ref(FirmEnergySchema);

const BasisQuery = Type.Optional(lit(BASES));
const IncludeDemoQuery = Type.Optional(Type.Boolean({ description: 'count the demo firms `npm start` seeds in scopes wider than a firm (left out by default)' }));
/** Whether demo firms were counted; a firm's or device's own figure is its own either way. */
const DemoFields = {
  includeDemo: Type.Boolean({ description: 'whether demo firms were counted' }),
  demoFirmsLeftOut: Type.Integer({ description: 'demo firms of the scope left out of the figures (0 when counted, and for a firm or device)' }),
};
const SourceQuery = Type.Optional(lit(['auto', 'raw', 'rollup']));
const INTERVALS: Record<string, number> = { '15m': 15 * MINUTE, '1h': HOUR, '1d': DAY };

const basisOf = (basis: string | undefined) => (basis ?? 'calorific') as BasisId;

/** source=raw wider than one firm scans every device: admin and bureau only. */
function rawNeedsRole(p: ApiPrincipal, scope: Scope, source: string | undefined): void {
  if (source === 'raw' && scope.kind !== 'device' && scope.kind !== 'firm') requireRole(p, 'admin', 'bureau');
}

const IntensityRow = Type.Object({
  key: Type.String(), name: Type.String(), segment: Nullable(Type.String()),
  electricityKwh: Type.Number(), totalKgce: Type.Number(), waterM3: Type.Number(), fabricM: Type.Number(), yarnKg: Type.Number(), pieces: Type.Number(),
  kwhPer100m: Nullable(Type.Number()), kgcePer100m: Nullable(Type.Number()), waterTPer100m: Nullable(Type.Number()),
  kwhPerKgYarn: Nullable(Type.Number()), kgcePerKgYarn: Nullable(Type.Number()), ringFrameKwhPerKg: Nullable(Type.Number()),
  kwhPerPiece: Nullable(Type.Number()), kgcePerPiece: Nullable(Type.Number()),
  fabricSource: Nullable(Type.String({ description: 'looms (woven metres) or entered (the firm\'s reported monthly output)' })), fabricNote: Nullable(Type.String()),
  dyeingBenchmark: Type.Object({
    applies: Type.Boolean(), row: Nullable(Type.String({ description: 'woven or silk (印染行业规范条件 row)' })), kgcePer100mMax: Nullable(Type.Number()), waterTPer100mMax: Nullable(Type.Number()),
    kgceOk: Nullable(Type.Boolean()), waterOk: Nullable(Type.Boolean()),
  }),
  spinningReference: Nullable(Type.Object({ kwhPerKg: Type.Number(), ratio: Type.Number() })),
});

const QualityDay = Type.Object({
  date: Type.String(), expectedIntervals: Type.Integer(), presentIntervals: Type.Integer(), completeness: Type.Number(), complete: Type.Boolean(),
  from15min: Type.Number(), register: Type.Number(), deviation: Type.Number(), consistent: Type.Boolean(),
});

/** Conversion factors and per-firm settings. */
const energySettingsRoutes: FastifyPluginAsyncTypebox<EnergyRouteOptions> = async (app, { registry, monitoring: m }) => {
  const factorsView = () => {
    const f = m.energySettings.factors();
    const year = localParts(Date.now()).year;
    return {
      config: f.value, defaults: DEFAULT_FACTORS, updatedBy: f.updatedBy, updatedAt: f.updatedAt,
      bases: { calorific: m.energy.basis('calorific', year), primary: m.energy.basis('primary', year) }, heatKgcePerMJ: HEAT_KGCE_PER_MJ, benchmarks: BENCHMARKS,
    };
  };

  app.get('/energy/factors', {
    schema: { tags: ['energy'], summary: 'Conversion factors to standard coal (GB/T 2589-2020) on both bases, and the benchmarks', response: { 200: Factors } },
  }, async () => factorsView());

  app.put('/energy/factors', {
    schema: { tags: ['energy'], summary: 'Set the conversion factors (admin): 等价值 electricity per year, steam and water calibers', body: FactorConfig, response: { 200: Factors, 400: ErrorBody, 403: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin');
    await httpErrors(() => m.energySettings.setFactors(req.body, actorOf(req.principal)), [[RangeError, 400]]);
    req.log.info({ by: req.principal.tokenId }, 'energy factors changed');
    return factorsView();
  });

  app.get('/energy/firms/:firmId/settings', {
    schema: { tags: ['energy'], summary: 'A firm\'s energy settings: where its steam comes from (its plant-boundary rule)', params: FirmParams, response: { 200: FirmEnergy, 404: ErrorBody } },
  }, async (req) => {
    await visibleFirm(registry, req.principal, req.params.firmId);
    return m.energySettings.view(req.params.firmId, (await m.index.get()).devicesByFirm.get(req.params.firmId));
  });

  app.put('/energy/firms/:firmId/settings', {
    schema: {
      tags: ['energy'], summary: 'Set where a firm\'s steam comes from (admin, bureau): bought counts the steam; own-boiler and cogeneration count the fuel, not the steam (cogeneration: nor the power) made from it',
      params: FirmParams,
      body: Type.Object({
        steamSource: Type.Optional(Nullable(lit(STEAM_SOURCES), { description: 'null: inferred from the firm\'s meters again' })),
        cogeneration: Type.Optional(Type.Boolean({ description: 'replaced by steamSource: true = cogeneration, false = inferred' })),
        note: Type.Optional(Type.String({ maxLength: 500 })),
      }, { additionalProperties: false }),
      response: { 200: FirmEnergy, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    await visibleFirm(registry, req.principal, req.params.firmId);
    const steamSource = await httpErrors(() => enteredSteamSource(req.body), [[RangeError, 400]]);
    m.energySettings.setFirm(req.params.firmId, { steamSource, note: req.body.note ?? '' }, actorOf(req.principal));
    return m.energySettings.view(req.params.firmId, (await m.index.get()).devicesByFirm.get(req.params.firmId));
  });
};

/** Live rates, consumption over a range and per interval. */
const energyFigureRoutes: FastifyPluginAsyncTypebox<EnergyRouteOptions> = async (app, { registry, monitoring: m }) => {
  app.get('/energy/live', {
    schema: {
      tags: ['energy'], summary: 'Live power (kW) and gas/steam/water flows of a scope, with kgce per hour',
      querystring: Type.Object({ ...ScopeQuery, basis: BasisQuery }),
      response: {
        200: Type.Object({
          scope: ScopeBody, asOf: Type.Integer(), windowMs: Type.Integer(), basis: Basis, devices: Type.Integer(),
          carriers: Type.Object(Object.fromEntries(CARRIERS.map((c) => [c, Type.Object({ unit: Type.String(), measured: Type.Number(), counted: Type.Number(), kgcePerHour: Type.Number() })]))),
          totalKgcePerHour: Type.Number(), notes: Type.Array(Type.String()),
        }),
        400: ErrorBody, 403: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (req) => {
    const { scope } = await resolveScope(req.principal, registry, req.query.scope, req.query.id);
    return m.energy.live(scope, basisOf(req.query.basis));
  });

  app.get('/energy/summary', {
    schema: {
      tags: ['energy'], summary: 'Energy over a range: physical units, counted at the plant boundary, and standard coal on the named basis',
      description: 'Counters are summed per device series with reset handling (non-negative differences; a reset counts the new reading from zero). source=auto uses raw data for devices and firms over ≤ 2 days (for firms, while the rollup job keeps up, the rollups up to its last closed quarter and raw data after it: source "rollup+raw"), the rollups (daily, hourly, 15-minute) otherwise. The rollups follow the data: quarters that received data, backfill of any age included, are recomputed within one rollup tick (2 min). Until then a firm over ≤ 2 days is read raw, and a figure read from the rollups says so in `provisional`.',
      querystring: Type.Object({
        ...ScopeQuery, from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), basis: BasisQuery,
        source: SourceQuery, by: Type.Optional(lit(BREAKDOWNS)), includeDemo: IncludeDemoQuery,
      }),
      response: {
        200: Type.Object({
          scope: ScopeBody, from: Type.Integer(), to: Type.Integer(), source: Type.String(), basis: Basis, basesByYear: Type.Array(Basis),
          firms: Type.Integer(), resets: Type.Integer(), ...Figures,
          breakdown: Type.Array(Type.Object({ key: Type.String(), name: Type.String(), ...Figures })),
          notes: Type.Array(Type.String()), provisional: Provisional, ...DemoFields,
        }),
        400: ErrorBody, 403: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (req) => {
    const { scope } = await resolveScope(req.principal, registry, req.query.scope, req.query.id);
    const now = Date.now();
    const { from, to } = range(req.query.from, req.query.to, Math.max(MINUTE, now - localDayStart(now)), 400 * DAY, { now });
    rawNeedsRole(req.principal, scope, req.query.source);
    return m.energy.summary(scope, from, to, basisOf(req.query.basis), req.query.source ?? 'auto', req.query.by, req.query.includeDemo ?? false);
  });

  app.get('/energy/series', {
    schema: {
      tags: ['energy'], summary: 'Energy per interval (15m, 1h, 1d local days) with kgce on the named basis',
      querystring: Type.Object({ ...ScopeQuery, from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), interval: Type.Optional(lit(Object.keys(INTERVALS))), basis: BasisQuery, includeDemo: IncludeDemoQuery }),
      response: {
        200: Type.Object({
          scope: ScopeBody, from: Type.Integer(), to: Type.Integer(), intervalMs: Type.Integer(), source: Type.String(), basis: Basis,
          points: Type.Array(Type.Object({
            time: Type.Integer(),
            carriers: Type.Object(Object.fromEntries(CARRIERS.map((c) => [c, Type.Object({ measured: Type.Number(), counted: Type.Number(), kgce: Type.Number() })]))),
            totalKgce: Type.Number(), outputs: Type.Object({ fabric: Type.Number(), yarn: Type.Number(), pieces: Type.Number() }),
          })),
          provisional: Provisional, ...DemoFields,
        }),
        400: ErrorBody, 403: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (req) => {
    const { scope } = await resolveScope(req.principal, registry, req.query.scope, req.query.id);
    const intervalMs = INTERVALS[req.query.interval ?? '1h'] ?? HOUR;
    const { from, to } = range(req.query.from, req.query.to, DAY, 400 * DAY);
    if ((to - from) / intervalMs > 5000) throw new HttpError(400, `at most 5000 intervals per request; use a longer interval or a shorter range`);
    return m.energy.series(scope, from, to, intervalMs, basisOf(req.query.basis), req.query.includeDemo ?? false);
  });
};

/** Intensity against the benchmarks and GB/T 38692-2020 data quality. */
const energyQualityRoutes: FastifyPluginAsyncTypebox<EnergyRouteOptions> = async (app, { registry, monitoring: m }) => {
  app.get('/energy/intensity', {
    schema: {
      tags: ['energy'], summary: 'Energy per unit of output (per 100 m fabric, per kg yarn, per piece) against the dyeing and spinning benchmarks',
      querystring: Type.Object({ ...ScopeQuery, from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), basis: BasisQuery, source: SourceQuery, includeDemo: IncludeDemoQuery }),
      response: {
        200: Type.Object({
          scope: ScopeBody, from: Type.Integer(), to: Type.Integer(), source: Type.String(), basis: Basis,
          benchmarks: Benchmarks,
          rows: Type.Array(IntensityRow), notes: Type.Array(Type.String()), provisional: Provisional, ...DemoFields,
        }),
        400: ErrorBody, 403: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (req) => {
    const { scope } = await resolveScope(req.principal, registry, req.query.scope, req.query.id);
    const { from, to } = range(req.query.from, req.query.to, 7 * DAY, 400 * DAY);
    rawNeedsRole(req.principal, scope, req.query.source);
    return m.energy.intensity(scope, from, to, basisOf(req.query.basis), req.query.source ?? 'auto', req.query.includeDemo ?? false);
  });

  app.get('/energy/quality', {
    schema: {
      tags: ['energy'], summary: 'GB/T 38692-2020 data quality of a firm for a month: 15-minute completeness per day (≥ 90 %) and daily/monthly consistency (within 5 %)',
      querystring: Type.Object({ firmId: Type.String({ maxLength: 18 }), month: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}$', description: 'YYYY-MM (local), default this month' })) }),
      response: {
        200: Type.Object({
          firmId: Type.String(), from: Type.Integer(), to: Type.Integer(),
          rules: Type.Object({ intervalMinutes: Type.Integer(), completenessMin: Type.Number(), consistencyMaxDeviation: Type.Number(), standard: Type.String() }),
          carriers: Type.Array(Type.Object({
            carrier: Type.String(), unit: Type.String(), sources: Type.Array(Type.String()), boundary: Type.String(), countedAtBoundary: Type.Boolean(),
            days: Type.Array(QualityDay), daysComplete: Type.Integer(),
            month: Type.Object({ sumOfDaily: Type.Number(), register: Type.Number(), resets: Type.Integer(), deviation: Type.Number(), consistent: Type.Boolean() }),
          })),
        }),
        400: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (req) => {
    await visibleFirm(registry, req.principal, req.query.firmId);
    const month = parseLocalMonth(req.query.month ?? localMonth(Date.now()));
    if (!month) throw new HttpError(400, `month must be YYYY-MM, got "${req.query.month}"`);
    return m.energy.quality(req.query.firmId, month);
  });

  app.get('/energy/quality/overview', {
    schema: {
      tags: ['energy'], summary: '15-minute completeness of every metered firm for one local day (admin, bureau)',
      querystring: Type.Object({ date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })), includeDemo: IncludeDemoQuery }),
      response: {
        200: Type.Object({
          date: Type.String(), expectedIntervals: Type.Integer(),
          firms: Type.Array(Type.Object({
            firmId: Type.String(), name: Type.String(),
            carriers: Type.Object(Object.fromEntries(CARRIERS.map((c) => [c, Type.Optional(Type.Object({ present: Type.Integer(), completeness: Type.Number(), complete: Type.Boolean() }))]))),
          })),
          ...DemoFields,
        }),
        400: ErrorBody, 403: ErrorBody,
      },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    const day = req.query.date ? parseLocalDate(req.query.date) : localDayStart(Date.now());
    if (day === undefined) throw new HttpError(400, `date must be YYYY-MM-DD, got "${req.query.date}"`);
    return m.energy.completenessOverview(day, Date.now(), req.query.includeDemo ?? false);
  });
};

/** The 15-minute rollups: CSV export, job state, rebuild. */
const energyRollupRoutes: FastifyPluginAsyncTypebox<EnergyRouteOptions> = async (app, { registry, monitoring: m }) => {
  app.get('/energy/rollups.csv', {
    schema: {
      tags: ['energy'], summary: '15-minute rollups per firm, quantity and source as CSV (text/csv)',
      description: 'Columns: firm_id, firm_name, county, park, segment, quantity, unit, source, used_for_firm_total (meters first, then the steam-source rule; never for export and generation), boundary_rule (the firm\'s steam source: bought, own-boiler, cogeneration), counting_rule (how the row\'s carrier is counted at the firm\'s boundary), interval_start, interval_end (local time), value, devices, resets. Headers x-provisional-quarters and x-provisional-until: firm-quarters with stored data the rollups do not reflect yet, and when they will. Over a county, park or the prefecture, demo firms are left out unless includeDemo=true (header x-demo-firms-left-out).',
      querystring: Type.Object({ ...ScopeQuery, from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), includeDemo: IncludeDemoQuery, ...CsvQuery }),
      response: CsvResponses,
    },
  }, async (req, reply) => {
    const { scope } = await resolveScope(req.principal, registry, req.query.scope, req.query.id);
    if (scope.kind === 'device') throw new HttpError(400, 'rollups are per firm; ask for scope=firm');
    const maxDays = scope.kind === 'firm' ? 366 : 31;
    const { from, to } = range(req.query.from, req.query.to, DAY, maxDays * DAY);
    const out = await m.energy.rollupCsv(scope, from, to, 200_000, req.query.includeDemo ?? false);
    // Readable names: local dates, the last one the range's last day.
    const days = dayRange(from, to);
    const names = { zh: fileName(['德宏', '能耗', '15分钟', SCOPE_ZH[scope.kind], scope.id, days.zh]), en: fileName(['energy', '15min', scope.kind, scope.id, days.en.replace('_to_', '_')]) };
    void reply
      .header('x-rows', String(out.rows))
      .header('x-truncated', String(out.truncated))
      // Rollups that do not reflect every stored reading yet (see EnergyProvisional): count and expected time.
      .header('x-provisional-quarters', String(out.provisional?.dirtyQuarters ?? 0))
      .header('x-provisional-until', out.provisional?.until == null ? '' : String(out.provisional.until))
      .header('x-demo-firms-left-out', String(out.demoFirmsLeftOut));
    return sendCsv(reply, { csv: out.csv, names, lang: req.query.lang, bom: req.query.bom });
  });

  app.get('/energy/rollups/status', {
    schema: {
      tags: ['energy'], summary: 'State of the 15-minute rollup job (admin, bureau)',
      response: {
        200: Type.Object({
          lastRun: Nullable(Type.Object({ from: Type.Integer(), to: Type.Integer(), points: Type.Integer(), resets: Type.Integer(), ms: Type.Integer() })), lastError: Nullable(Type.String()),
          watermark: Nullable(Type.Integer({ description: 'start of the last successful run: marks made before it, less the slack, are in the rollups' })),
          pendingQuarters: Type.Integer({ description: 'firm-quarters marked dirty and not yet surely recomputed' }),
        }),
        403: ErrorBody,
      },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    return { lastRun: m.rollups.lastRun ?? null, lastError: m.rollups.lastError ?? null, watermark: m.rollups.watermarkAt ?? null, pendingQuarters: (await m.rollups.pending()).length };
  });

  app.post('/energy/rollups/rebuild', {
    schema: {
      tags: ['energy'], summary: 'Recompute the 15-minute rollups of a range (admin); quarters that receive data are recomputed by the rollup job on their own',
      body: Type.Object({ from: TimeParam, to: Type.Optional(TimeParam) }, { additionalProperties: false }),
      response: { 200: Type.Object({ from: Type.Integer(), to: Type.Integer(), points: Type.Integer(), resets: Type.Integer(), ms: Type.Integer() }), 400: ErrorBody, 403: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin');
    const to = toMs(req.body.to, Date.now(), 'to');
    const from = toMs(req.body.from, to - DAY, 'from');
    if (!(from < to) || to - from > 62 * DAY) throw new HttpError(400, 'from must be before to, at most 62 days apart');
    return m.rollups.rebuild(from, to);
  });
};

export const energyRoutes: FastifyPluginAsyncTypebox<EnergyRouteOptions> = async (app, opts) => {
  addSchemas(app, [BasisSchema, FactorConfigSchema, FactorsSchema, FirmEnergySchema, ProvisionalSchema]);
  await app.register(energySettingsRoutes, opts);
  await app.register(energyOutputRoutes, opts);
  await app.register(energyFigureRoutes, opts);
  await app.register(energyQualityRoutes, opts);
  await app.register(energyRollupRoutes, opts);
};
