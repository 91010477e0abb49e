// Places: every park lies in a listed county, and the segments include the action plan's accessories and 鞋帽.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COUNTIES, PARKS, SEGMENTS, segmentIds } from '../../common/places.ts';

test('segments: garment accessories (拉链、钮扣) and 鞋帽 are segments of their own', () => {
  assert.ok(segmentIds.includes('accessories'));
  assert.ok(segmentIds.includes('footwear'));
  assert.match(SEGMENTS.find((s) => s.id === 'accessories')?.zh ?? '', /拉链.*钮扣/);
  assert.equal(SEGMENTS.find((s) => s.id === 'footwear')?.zh, '鞋帽');
  assert.equal(new Set(segmentIds).size, segmentIds.length);
});

test('every park lies in one listed county (what firm registration checks a firm\'s park against)', () => {
  for (const p of PARKS) assert.ok(COUNTIES.some((c) => c.code === p.county), p.id);
  assert.equal(PARKS.find((p) => p.id === 'longchuan')?.county, '533124');
  assert.ok(PARKS.filter((p) => p.county === '533102').every((p) => p.id.startsWith('ruili')));
});
