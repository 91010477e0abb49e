// The CSV pieces every export shares: RFC 4180 quoting, the bilingual header, day ranges and file names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, csvLines } from '../../analytics/base/csv.ts';
import { csvTable, dayRange, fileName } from '../../api/csv.ts';
import { DAY, parseLocalDate } from '../../common/time.ts';

test('fields are quoted only when they must be; lines end in CRLF', () => {
  assert.equal(csvCell('A, "导出" 织造'), '"A, ""导出"" 织造"');
  assert.equal(csvCell('two\nlines'), '"two\nlines"');
  assert.deepEqual([csvCell(null), csvCell(undefined), csvCell(0), csvCell(false), csvCell('plain')], ['', '', '0', 'false', 'plain']);
  assert.equal(csvLines([['a', 1], ['b,c', null]]), 'a,1\r\n"b,c",\r\n');
});

test('a table\'s header is in the language asked for', () => {
  const cols = [{ zh: '电（kWh）', en: 'electricity (kWh)', value: (r: { kwh: number }) => r.kwh }];
  assert.equal(csvTable(cols, [{ kwh: 12.5 }], 'zh'), '电（kWh）\r\n12.5\r\n');
  assert.equal(csvTable(cols, [{ kwh: 12.5 }], 'en'), 'electricity (kWh)\r\n12.5\r\n');
});

test('file names: the local days of the range, parts joined, nothing a file system trips on', () => {
  const from = parseLocalDate('2026-12-01')!;
  assert.deepEqual(dayRange(from, from + 3 * DAY), { zh: '2026-12-01至2026-12-03', en: '2026-12-01_to_2026-12-03' });
  assert.deepEqual(dayRange(from, from), { zh: '2026-12-01至2026-12-01', en: '2026-12-01_to_2026-12-01' }, 'an empty range names its day');
  assert.equal(fileName(['德宏', '能耗汇总', '企业', undefined, 'a/b c', '2026-12-01至2026-12-03']), '德宏-能耗汇总-企业-a_b_c-2026-12-01至2026-12-03.csv');
});
