// Files saved from the page: a CSV the API makes (fetched with the token) or one made from a chart's data.
import { getBlob } from './api.ts';

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
