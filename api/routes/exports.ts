// CSV exports of what the dashboard shows: the energy summary of a scope and range, OEE of a firm or device, the
// alarm history and the plan tracker (the 15-minute rollups are in energy.ts). Each asks its JSON twin
// (GET /energy/summary, /monitoring/oee, /alarms, /plan/targets) as the caller, with the caller's credentials and
// address, so the access rules, defaults and figures are the twin's own; here they only become columns (units in
// the header), in Chinese or English, and a readable file name (api/csv.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ALARM_KINDS, ALARM_STATUSES, SEVERITIES } from '../../analytics/alarms/alarms.ts';
import { BASES, CARRIERS } from '../../analytics/energy/factors.ts';
import { BREAKDOWNS } from '../../analytics/energy/service.ts';
import { PERIODS } from '../../analytics/states/oee.ts';
import type { Monitoring } from '../../analytics/index.ts';
import { localDate, localDateTime } from '../../common/time.ts';
import { HttpError } from '../errors.ts';
import { ScopeQuery, TimeParam, lit } from '../schemas.ts';
import { toMs } from '../time-range.ts';
import { CsvQuery, CsvResponses, SCOPE_ZH, csvTable, dayRange, fileName, sendCsv, type CsvColumn, type CsvLang } from '../csv.ts';

type Query = Record<string, string | number | boolean | undefined>;
type Summary = Awaited<ReturnType<Monitoring['energy']['summary']>>;
type OeeReport = Awaited<ReturnType<Monitoring['oee']['report']>>;
type Alarm = Awaited<ReturnType<Monitoring['alarmStore']['list']>>[number];
type PlanTarget = Awaited<ReturnType<Monitoring['plan']['targets']>>['targets'][number];

/** The JSON twin's answer to the caller; its refusal (401, 403, 404, 400, 429) is the export's. */
async function twin<T>(app: FastifyInstance, req: FastifyRequest, path: string, query: Query): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
  const headers: Record<string, string> = {};
  for (const name of ['authorization', 'cookie', 'host']) {
    const v = req.headers[name];
    if (typeof v === 'string') headers[name] = v;
  }
  const r = await app.inject({ method: 'GET', url: `/api/v1${path}?${qs.toString()}`, headers, remoteAddress: req.ip });
  if (r.statusCode !== 200) {
    const body = (() => { try { return r.json<{ message?: unknown }>(); } catch { return {}; } })();
    throw new HttpError(r.statusCode, typeof body.message === 'string' ? body.message : `${path} answered ${r.statusCode}`);
  }
  return r.json<T>();
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));
/** A share (0..1) as a percentage with two decimals; empty when unknown. */
const pct = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : round(v * 100, 2));
const hours = (ms: number): number => round(ms / 3_600_000, 3);
const localTime = (ms: number | null): string | null => (ms === null ? null : localDateTime(ms));

const CARRIER_ZH: Record<(typeof CARRIERS)[number], string> = { electricity: '电', gas: '天然气', steam: '蒸汽', water: '水' };
const OUTPUT_ZH = { fabric: '坯布/成品布', yarn: '纱线', pieces: '服装' } as const;

type SummaryRow = { key: string; name: string } & Pick<Summary, 'carriers' | 'totalKgce' | 'totalTce' | 'outputs'>;

function summaryColumns(s: Summary, lang: CsvLang): Array<CsvColumn<SummaryRow>> {
  const carriers = CARRIERS.flatMap((c): Array<CsvColumn<SummaryRow>> => {
    const unit = s.carriers[c].unit;
    return [
      { zh: `${CARRIER_ZH[c]}（${unit}）`, en: `${c} (${unit})`, value: (r) => r.carriers[c].counted },
      { zh: `${CARRIER_ZH[c]}折标煤（kgce）`, en: `${c} (kgce)`, value: (r) => r.carriers[c].kgce },
    ];
  });
  const outputs = (['fabric', 'yarn', 'pieces'] as const).map((o): CsvColumn<SummaryRow> => {
    const unit = s.outputs[o].unit;
    return { zh: `${OUTPUT_ZH[o]}产量（${unit}）`, en: `${o} output (${unit})`, value: (r) => r.outputs[o].value };
  });
  return [
    { zh: '分组', en: 'key', value: (r) => r.key },
    { zh: '名称', en: 'name', value: (r) => r.name },
    ...carriers,
    { zh: '综合能耗（kgce）', en: 'total (kgce)', value: (r) => r.totalKgce },
    { zh: '综合能耗（tce）', en: 'total (tce)', value: (r) => r.totalTce },
    ...outputs,
    { zh: '折标口径', en: 'basis', value: () => s.basis[lang] },
  ];
}

type OeeRow = { period: OeeReport['periods'][number]; level: 'firm' | 'device'; deviceId: string; name: string; type: string }
  & Pick<OeeReport['periods'][number]['firm'], 'observedMs' | 'plannedMs' | 'runningMs' | 'availability' | 'performance' | 'quality' | 'oee' | 'loomEfficiency' | 'loomEfficiencyScheduled'>;

const OEE_COLUMNS: Array<CsvColumn<OeeRow>> = [
  { zh: '时段', en: 'period', value: (r) => r.period.id },
  { zh: '开始', en: 'start', value: (r) => localDateTime(r.period.start) },
  { zh: '结束', en: 'end', value: (r) => localDateTime(r.period.end) },
  { zh: '层级', en: 'level', value: (r) => r.level },
  { zh: '设备编号', en: 'device_id', value: (r) => r.deviceId },
  { zh: '名称', en: 'name', value: (r) => r.name },
  { zh: '类型', en: 'type', value: (r) => r.type },
  { zh: '观测时长（h）', en: 'observed (h)', value: (r) => hours(r.observedMs) },
  { zh: '计划时长（h）', en: 'planned (h)', value: (r) => hours(r.plannedMs) },
  { zh: '运行时长（h）', en: 'running (h)', value: (r) => hours(r.runningMs) },
  { zh: '时间开动率（%）', en: 'availability (%)', value: (r) => pct(r.availability) },
  { zh: '性能开动率（%）', en: 'performance (%)', value: (r) => pct(r.performance) },
  { zh: '合格品率（%）', en: 'quality (%)', value: (r) => pct(r.quality) },
  { zh: 'OEE（%）', en: 'OEE (%)', value: (r) => pct(r.oee) },
  { zh: '织机效率（%）', en: 'loom efficiency (%)', value: (r) => pct(r.loomEfficiency) },
  { zh: '织机效率-按排班（%）', en: 'loom efficiency, scheduled (%)', value: (r) => pct(r.loomEfficiencyScheduled) },
];

function oeeRows(report: OeeReport): OeeRow[] {
  return report.periods.flatMap((period) => [
    { period, level: 'firm' as const, deviceId: '', name: report.target.firmId, type: '', ...period.firm },
    ...period.devices.map((d) => ({ period, level: 'device' as const, ...d })),
  ]);
}

function alarmColumns(lang: CsvLang): Array<CsvColumn<Alarm>> {
  return [
    { zh: '编号', en: 'id', value: (a) => a.id },
    { zh: '发生时间', en: 'raised_at', value: (a) => localDateTime(a.raisedAt) },
    { zh: '级别', en: 'severity', value: (a) => a.severity },
    { zh: '状态', en: 'status', value: (a) => a.status },
    { zh: '企业编号', en: 'firm_id', value: (a) => a.firmId },
    { zh: '设备编号', en: 'device_id', value: (a) => a.deviceId },
    { zh: '设备类型', en: 'device_type', value: (a) => a.deviceType },
    { zh: '规则', en: 'rule', value: (a) => a.ruleName },
    { zh: '类别', en: 'kind', value: (a) => a.kind },
    { zh: '测点', en: 'metric', value: (a) => a.metric },
    { zh: '触发值', en: 'value', value: (a) => a.value },
    { zh: '说明', en: 'message', value: (a) => a.messages[lang] },
    { zh: '确认时间', en: 'acked_at', value: (a) => localTime(a.ackedAt) },
    { zh: '确认人', en: 'acked_by', value: (a) => a.ackedBy },
    { zh: '解除时间', en: 'cleared_at', value: (a) => localTime(a.clearedAt) },
    { zh: '解除值', en: 'clear_value', value: (a) => a.clearValue },
  ];
}

function planColumns(lang: CsvLang): Array<CsvColumn<PlanTarget>> {
  return [
    { zh: '编号', en: 'id', value: (t) => t.id },
    { zh: '目标', en: 'target', value: (t) => t[lang] },
    { zh: '目标值', en: 'target_value', value: (t) => t.target },
    { zh: '当前值', en: 'current_value', value: (t) => t.value },
    { zh: '单位', en: 'unit', value: (t) => t.unit },
    { zh: '进度（%）', en: 'progress (%)', value: (t) => pct(t.progress) },
    { zh: '是否达成', en: 'met', value: (t) => (t.met === null ? null : t.met ? (lang === 'zh' ? '是' : 'yes') : (lang === 'zh' ? '否' : 'no')) },
    { zh: '期限', en: 'period', value: (t) => t.period },
    { zh: '数据来源', en: 'value_source', value: (t) => t.valueSource },
    { zh: '企业填报合计', en: 'from_firm_figures', value: (t) => t.fromFirmFigures?.value },
    { zh: '填报企业数', en: 'firms_reporting', value: (t) => t.fromFirmFigures?.firms },
    { zh: '填报年度', en: 'firm_figures_year', value: (t) => t.fromFirmFigures?.year },
    { zh: '录入人', en: 'entered_by', value: (t) => t.enteredBy },
    { zh: '录入时间', en: 'entered_at', value: (t) => localTime(t.enteredAt) },
    { zh: '备注', en: 'note', value: (t) => t.note },
  ];
}

/** The most alarms one export holds (pages of the twin's maximum, newest first). */
export const MAX_ALARM_ROWS = 20_000;
const ALARM_PAGE = 1000;

const RangeQuery = { from: Type.Optional(TimeParam), to: Type.Optional(TimeParam) };

export const exportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/energy/summary.csv', {
    schema: {
      tags: ['energy'], summary: 'The energy summary of a scope and range as CSV: the total and one line per breakdown entry (firm by default), units in the header; the access rules of GET /energy/summary',
      querystring: Type.Object({ ...ScopeQuery, ...RangeQuery, basis: Type.Optional(lit(BASES)), by: Type.Optional(lit(BREAKDOWNS)), includeDemo: Type.Optional(Type.Boolean()), ...CsvQuery }),
      response: CsvResponses,
    },
  }, async (req, reply) => {
    const { bom, lang, ...q } = req.query;
    const s = await twin<Summary>(app, req, '/energy/summary', { ...q, by: q.by ?? 'firm' });
    const l = lang ?? 'en';
    const rows: SummaryRow[] = [{ key: 'total', name: l === 'zh' ? '合计' : 'total', ...s }, ...s.breakdown];
    const days = dayRange(s.from, s.to);
    const names = { zh: fileName(['德宏', '能耗汇总', SCOPE_ZH[s.scope.kind as keyof typeof SCOPE_ZH], s.scope.id, days.zh]), en: fileName(['energy-summary', s.scope.kind, s.scope.id, days.en]) };
    return sendCsv(reply, { csv: csvTable(summaryColumns(s, l), rows, l), names, lang: l, bom });
  });

  app.get('/monitoring/oee.csv', {
    schema: {
      tags: ['monitoring'], summary: 'OEE of a firm or device as CSV: per period (shift, day or total) the firm and each device, hours and percentages; the access rules of GET /monitoring/oee',
      querystring: Type.Object({ firmId: Type.Optional(Type.String({ maxLength: 18 })), deviceId: Type.Optional(Type.String({ maxLength: 64 })), ...RangeQuery, by: Type.Optional(lit(PERIODS)), ...CsvQuery }),
      response: CsvResponses,
    },
  }, async (req, reply) => {
    const { bom, lang, ...q } = req.query;
    const report = await twin<OeeReport>(app, req, '/monitoring/oee', q);
    const l = lang ?? 'en';
    const days = dayRange(report.from, report.to);
    const who = report.target.deviceId ?? report.target.firmId;
    const names = { zh: fileName(['德宏', '设备综合效率OEE', who, days.zh]), en: fileName(['oee', who, report.by, days.en]) };
    return sendCsv(reply, { csv: csvTable(OEE_COLUMNS, oeeRows(report), l), names, lang: l, bom });
  });

  app.get('/alarms.csv', {
    schema: {
      tags: ['alarms'], summary: `Alarm history as CSV, newest first, with the filters of GET /alarms (status defaults to all here) and its access rules; at most ${MAX_ALARM_ROWS} alarms (header x-truncated)`,
      querystring: Type.Object({
        status: Type.Optional(lit([...ALARM_STATUSES, 'open', 'all'])), ...ScopeQuery,
        firmId: Type.Optional(Type.String({ maxLength: 18 })), deviceId: Type.Optional(Type.String({ maxLength: 64 })),
        severity: Type.Optional(lit(SEVERITIES)), ruleId: Type.Optional(Type.Integer({ minimum: 1 })), kind: Type.Optional(lit(ALARM_KINDS)),
        ...RangeQuery, ...CsvQuery,
      }),
      response: CsvResponses,
    },
  }, async (req, reply) => {
    const { bom, lang, from: fromIn, to: toIn, ...q } = req.query;
    const now = Date.now();
    const from = fromIn === undefined ? undefined : toMs(fromIn, 0, 'from');
    const to = toIn === undefined ? undefined : toMs(toIn, now, 'to', true);
    const alarms: Alarm[] = [];
    let page: Alarm[] = [];
    do {
      const beforeId = alarms.at(-1)?.id;
      page = await twin<Alarm[]>(app, req, '/alarms', { ...q, status: q.status ?? 'all', from, to, limit: ALARM_PAGE, beforeId });
      alarms.push(...page);
    } while (page.length === ALARM_PAGE && alarms.length < MAX_ALARM_ROWS);
    const l = lang ?? 'en';
    const days = from !== undefined ? dayRange(from, to ?? now) : { zh: `截至${localDate(to ?? now)}`, en: `until_${localDate(to ?? now)}` };
    const where = q.deviceId ?? q.firmId ?? q.id;
    const names = { zh: fileName(['德宏', '告警', where, days.zh]), en: fileName(['alarms', where, days.en]) };
    void reply.header('x-truncated', String(page.length === ALARM_PAGE && alarms.length >= MAX_ALARM_ROWS));
    return sendCsv(reply, { csv: csvTable(alarmColumns(l), alarms.slice(0, MAX_ALARM_ROWS), l), names, lang: l, bom });
  });

  app.get('/plan/targets.csv', {
    schema: {
      tags: ['plan'], summary: 'The plan tracker as CSV: every quantified target with its current value, unit, progress, source and the firms\' reported figures (admin, bureau, as GET /plan/targets)',
      querystring: Type.Object({ year: Type.Optional(Type.Integer({ minimum: 2000, maximum: 2100 })), includeDemo: Type.Optional(Type.Boolean()), ...CsvQuery }),
      response: CsvResponses,
    },
  }, async (req, reply) => {
    const { bom, lang, ...q } = req.query;
    const plan = await twin<{ year: number; targets: PlanTarget[] }>(app, req, '/plan/targets', q);
    const l = lang ?? 'en';
    const names = { zh: fileName(['德宏', '行动计划跟踪', String(plan.year)]), en: fileName(['plan-targets', String(plan.year)]) };
    return sendCsv(reply, { csv: csvTable(planColumns(l), plan.targets, l), names, lang: l, bom });
  });
};
