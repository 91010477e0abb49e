// CSV replies of the exports: RFC 4180 text (analytics/base/csv.ts), with `bom=true` a UTF-8 byte-order mark in
// front (Excel otherwise reads the Chinese names as the local code page), and a readable file name: Chinese with
// lang=zh, English with lang=en (both ASCII-safe as `filename`, the chosen one as RFC 6266 `filename*`).
import type { FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { csvLines, type CsvCell } from '../analytics/base/csv.ts';
import type { ScopeKind } from '../common/contract/scope.ts';
import { localDate } from '../common/time.ts';
import { ErrorBody } from './schemas.ts';

export type CsvLang = 'zh' | 'en';

/** A scope's kind in a Chinese file name. */
export const SCOPE_ZH: Record<ScopeKind, string> = { prefecture: '全州', county: '县市', park: '园区', segment: '行业', firm: '企业', device: '设备' };

/** The query every CSV export takes. */
export const CsvQuery = {
  bom: Type.Optional(Type.Boolean({ description: 'prefix a UTF-8 byte-order mark so Excel reads the text as UTF-8' })),
  lang: Type.Optional(Type.Union([Type.Literal('zh'), Type.Literal('en')], { description: 'column names and file name in Chinese (zh) or English (en)' })),
};

export const CsvResponses = {
  200: { description: 'CSV (text/csv; charset=utf-8), as an attachment with a readable file name', content: { 'text/csv': { schema: Type.String() } } },
  400: ErrorBody, 403: ErrorBody, 404: ErrorBody,
};

/** A column: its name in both languages (units in brackets) and how a row fills it. */
export interface CsvColumn<R> {
  zh: string;
  en: string;
  value: (row: R) => CsvCell;
}

/** The header line in the language asked for, then one line per row. */
export function csvTable<R>(columns: ReadonlyArray<CsvColumn<R>>, rows: readonly R[], lang: CsvLang): string {
  return csvLines([columns.map((c) => c[lang]), ...rows.map((r) => columns.map((c) => c.value(r)))]);
}

/** "2026-12-01至2026-12-03" / "2026-12-01_to_2026-12-03": the local days of [from, to). */
export function dayRange(from: number, to: number): { zh: string; en: string } {
  const a = localDate(from);
  const b = localDate(Math.max(from, to - 1));
  return { zh: `${a}至${b}`, en: `${a}_to_${b}` };
}

/** Hyphen-joined parts of a file name, without characters a file system or a header would trip on. */
export function fileName(parts: ReadonlyArray<string | undefined>): string {
  return `${parts.filter((p): p is string => !!p).map((p) => p.replace(/[\\/:*?"<>|\s]+/g, '_')).join('-')}.csv`;
}

export interface CsvFile {
  csv: string;
  names: { zh: string; en: string };
  /** undefined: the Chinese name as filename* (what the rollups export always sent). */
  lang: CsvLang | undefined;
  bom: boolean | undefined;
}

/** Sends the CSV as a download. */
export function sendCsv(reply: FastifyReply, f: CsvFile): FastifyReply {
  const ascii = f.names.en.replace(/[^\x20-\x7e]+/g, '_').replace(/"/g, '');
  const shown = f.lang === 'en' ? f.names.en : f.names.zh;
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(shown)}`)
    .send(f.bom ? `\ufeff${f.csv}` : f.csv);
}
