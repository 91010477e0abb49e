// Files saved from the page: a CSV the API makes (fetched with the token or the session cookie, saved under the
// name the API gives it) or one made from a chart's data; the download buttons of the API's exports.
import { getBlob, getFile, qs } from './api.ts';
import { h } from './dom.ts';
import { currentLang, pick } from './i18n.ts';

/** Saves a blob under a file name through an object URL, released once the browser has taken it. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export async function downloadApiFile(path: string, fileName: string): Promise<void> {
  saveBlob(await getBlob(path), fileName);
}

function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV (CRLF lines) with a byte-order mark so spreadsheet programs read the Chinese names as UTF-8. */
export function csvBlob(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>): Blob {
  const lines = [header, ...rows].map((r) => r.map(cell).join(','));
  return new Blob(['\ufeff', `${lines.join('\r\n')}\r\n`], { type: 'text/csv;charset=utf-8' });
}

/** A file name part: letters, digits, dot, dash and underscore only. */
export function fileNamePart(s: string): string {
  return s.replace(/[^\w.-]+/g, '-');
}

/** Saves an export of the API under the name the API gives it (readable, in the page's language). */
export async function downloadExport(path: string): Promise<void> {
  const { blob, fileName } = await getFile(path);
  saveBlob(blob, fileName ?? fileNamePart(path.split('?')[0]?.split('/').pop() ?? 'export.csv'));
}

export type ExportQuery = Record<string, string | number | undefined | null>;

/**
 * A table's download: CSV, or the same with a byte-order mark so Excel reads the Chinese as UTF-8. The query is
 * read when clicked (the view's current scope and range); column names and file name follow the page's language.
 */
export function exportButtons(path: string, query: () => ExportQuery, name: string, label: { zh: string; en: string }): HTMLElement {
  const status = h('span', { class: 'muted small-text', role: 'status' });
  const button = (excel: boolean) => h('button', {
    type: 'button', class: 'small', 'data-export': excel ? 'excel' : 'csv',
    title: excel ? pick({ zh: 'Excel 可直接打开的 CSV（UTF-8 带 BOM）', en: 'CSV Excel opens as UTF-8 (with a byte-order mark)' }) : null,
    onclick: () => {
      status.textContent = pick({ zh: '正在下载…', en: 'Downloading…' });
      downloadExport(`${path}${qs({ ...query(), lang: currentLang(), bom: excel ? 'true' : undefined })}`).then(
        () => { status.textContent = ''; },
        (err: unknown) => { status.textContent = pick({ zh: `下载失败：${String(err instanceof Error ? err.message : err)}`, en: `Download failed: ${String(err instanceof Error ? err.message : err)}` }); });
    },
  }, excel ? 'Excel' : 'CSV');
  return h('span', { class: 'export', 'data-testid': `export-${name}` }, h('span', { class: 'muted small-text' }, pick(label), ' '), button(false), ' ', button(true), ' ', status);
}

const ALARM_EXPORT_DAYS = 30;

/** The alarm history of the last 30 days, every status (a firm's, or all the caller may see). */
export function alarmHistoryExport(firmId?: string): HTMLElement {
  return exportButtons('/alarms.csv', () => ({ status: 'all', firmId, from: Date.now() - ALARM_EXPORT_DAYS * 86_400_000 }), 'alarms',
    { zh: `告警记录（${ALARM_EXPORT_DAYS} 天）`, en: `Alarms (${ALARM_EXPORT_DAYS} days)` });
}
