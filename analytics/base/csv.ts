// RFC 4180 CSV text, shared by every export (the rollups here, the API's tables in api/csv.ts).
export type CsvCell = string | number | boolean | null | undefined;

/** One field: quoted only when it holds a comma, quote or line break. */
export function csvCell(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Lines of fields, each line ended by CRLF. */
export function csvLines(lines: ReadonlyArray<ReadonlyArray<CsvCell>>): string {
  return lines.map((l) => `${l.map(csvCell).join(',')}\r\n`).join('');
}
