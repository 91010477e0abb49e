// The dashboard's date-times name the month in words: "03/12" is March to some readers and December to others.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const store = new Map<string, string>();
Object.assign(globalThis, {
  localStorage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v) },
  document: { documentElement: { lang: '' } },
});
const { setLang } = await import('../../web/src/i18n.ts');
const { dateTime } = await import('../../web/src/format.ts');

// 3 December 2026, 14:05:09 in Shanghai.
const ts = Date.parse('2026-12-03T14:05:09+08:00');

test('English date-times say "3 Dec", not "03/12"', () => {
  setLang('en');
  const s = dateTime(ts);
  assert.match(s, /\b3 Dec\b/);
  assert.match(s, /14:05:09/);
  assert.doesNotMatch(s, /\d{2}\/\d{2}/);
});

test('Chinese date-times say 12月3日', () => {
  setLang('zh');
  const s = dateTime(ts);
  assert.match(s, /12月3日/);
  assert.match(s, /14:05:09/);
});
