// Where a firm's steam comes from, as stored: the migration from the cogeneration flag, what a request enters, and
// what the demo scenario enters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MONITORING_MIGRATIONS, Settings, openMonitoringDb } from '../../analytics/base/db.ts';
import { steamSourceOf } from '../../analytics/energy/carriers.ts';
import { EnergySettings, enteredSteamSource, wholeLocalMonths } from '../../analytics/energy/settings.ts';
import { openDb } from '../../common/sqlite.ts';
import { localMidnight } from '../../common/time.ts';
import { loadScenario, planScenario, resolveScenarioPath } from '../../simulators/scenario.ts';

test('the cogeneration flag migrates: flagged firms keep cogeneration, unflagged ones are inferred again', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'energy-settings-'));
  try {
    const file = path.join(dir, 'monitoring.db');
    const old = openDb(file, MONITORING_MIGRATIONS.slice(0, 1));
    const put = old.prepare('INSERT INTO firm_energy (firm_id, cogeneration, note, updated_by, updated_by_token, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    put.run('F-COGEN', 1, '燃气轮机', 'admin', 't1', 1000);
    put.run('F-PLAIN', 0, '', 'bureau', 't2', 2000);
    old.close();
    const db = openMonitoringDb(file);
    const s = new EnergySettings(db, new Settings(db));
    assert.deepEqual(s.firm('F-COGEN'), { firmId: 'F-COGEN', steamSource: 'cogeneration', note: '燃气轮机', updatedBy: 'admin', updatedAt: 1000 });
    assert.equal(s.firm('F-PLAIN').steamSource, null);
    assert.deepEqual(s.flagsOf('F-COGEN'), { steamSource: 'cogeneration' });
    // No boiler meter: bought. A gas meter in the boiler house: own boiler. Entered: as entered.
    assert.deepEqual(s.view('F-PLAIN').rule.source, 'bought');
    assert.deepEqual(s.view('F-PLAIN', [{ type: 'gas_meter', name: 'g', location: '锅炉房' }]).rule, { source: 'own-boiler', from: 'boiler-meter', zh: '自备锅炉：计燃料，蒸汽不重复计入', en: 'own boiler: its fuel counted, the steam not again' });
    s.setFirm('F-PLAIN', { steamSource: 'bought' }, { name: 'admin', tokenId: 't1' });
    assert.equal(s.view('F-PLAIN', [{ type: 'gas_meter', name: 'g', location: '锅炉房' }]).rule.source, 'bought');
    assert.throws(() => db.prepare("UPDATE firm_energy SET steam_source = 'district' WHERE firm_id = 'F-PLAIN'").run(), /CHECK/);
    db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a request enters steamSource, or the replaced cogeneration flag; never both disagreeing, never neither', () => {
  assert.equal(enteredSteamSource({ steamSource: 'own-boiler' }), 'own-boiler');
  assert.equal(enteredSteamSource({ steamSource: null }), null);
  assert.equal(enteredSteamSource({ cogeneration: true }), 'cogeneration');
  assert.equal(enteredSteamSource({ cogeneration: false }), null);
  assert.equal(enteredSteamSource({ steamSource: 'cogeneration', cogeneration: true }), 'cogeneration');
  assert.throws(() => enteredSteamSource({ steamSource: 'bought', cogeneration: true }), /contradicts/);
  assert.throws(() => enteredSteamSource({}), /give steamSource/);
});

test('the demo scenario enters own-boiler for its dyeing firms, whose gas meter is at the boiler (so inference agrees)', () => {
  const plan = planScenario(loadScenario(resolveScenarioPath('dehong-demo')));
  const dyeing = plan.firms.filter((f) => f.segment === 'dyeing' && plan.devices.some((d) => d.firmId === f.id));
  assert.ok(dyeing.length >= 2);
  for (const f of dyeing) {
    assert.equal(plan.steamSources.get(f.id), 'own-boiler', f.name);
    const devices = plan.devices.filter((d) => d.firmId === f.id);
    assert.deepEqual(steamSourceOf({ steamSource: null }, devices), { source: 'own-boiler', from: 'boiler-meter' }, f.name);
    assert.ok(devices.some((d) => d.type === 'steam_meter' && d.location !== '锅炉房'), 'steam metered at the machines');
  }
});

test('entered output counts only for ranges of whole local months', () => {
  assert.deepEqual(wholeLocalMonths(localMidnight(2026, 11, 1), localMidnight(2027, 1, 1)), ['2026-11', '2026-12']);
  assert.equal(wholeLocalMonths(localMidnight(2026, 11, 1), localMidnight(2026, 11, 30)), undefined);
  assert.equal(wholeLocalMonths(localMidnight(2026, 11, 2), localMidnight(2026, 12, 1)), undefined);
  assert.equal(wholeLocalMonths(localMidnight(2026, 11, 1), localMidnight(2026, 11, 1)), undefined);
});
