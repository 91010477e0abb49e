// Grafana dashboards as code: the committed JSON is what dashboards/ generates, and every query of every panel and
// template variable runs without error and returns data against a real influxd seeded with two hours of simulated
// devices of two firms (line protocol exactly as the ingest writer stores it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { deviceType } from '../../common/contract/catalogue.ts';
import { stateLine, tagSet, telemetryLine, type DeviceTags } from '../../common/contract/line-protocol.ts';
import { makeUscc } from '../../common/ids.ts';
import type { QueryResultSeries } from '../../common/telemetry-store/influx/influxql.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { createModel, seededRng } from '../../simulators/models.ts';
import { DATASOURCE } from '../../dashboards/common.ts';
import { GENERATED_DIR, renderDashboards } from '../../dashboards/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DB = 'dehong';

interface PanelJson { id?: number; type: string; title?: string; datasource?: { uid?: string; type?: string }; targets?: Array<{ refId?: string; query?: string; rawQuery?: boolean; datasource?: { uid?: string; type?: string } }> }
interface VariableJson { name: string; type: string; query?: unknown; datasource?: { uid?: string; type?: string } }
interface DashboardJson { uid: string; title: string; schemaVersion: number; panels: PanelJson[]; templating: { list?: VariableJson[] } }

const rendered = renderDashboards();
const generated: DashboardJson[] = [...rendered.values()].map((text) => JSON.parse(text) as DashboardJson);

// ---- the seeded plant: two firms in two counties, one device of each simulated type per firm ----------------

const FIRM_A = makeUscc('533102', 8_800_001);
const FIRM_B = makeUscc('533103', 8_800_002);
interface SeedDevice extends DeviceTags { seed: number }
const DEVICES: SeedDevice[] = [
  { firmId: FIRM_A, deviceId: 'grafana-loom-a1', type: 'loom', county: '533102', park: 'ruili-coop', segment: 'weaving', seed: 11 },
  { firmId: FIRM_A, deviceId: 'grafana-loom-a2', type: 'loom', county: '533102', park: 'ruili-coop', segment: 'weaving', seed: 12 },
  { firmId: FIRM_A, deviceId: 'grafana-dye-a1', type: 'dyeing_machine', county: '533102', park: 'ruili-coop', segment: 'weaving', seed: 13 },
  { firmId: FIRM_A, deviceId: 'grafana-spin-a1', type: 'spinning_frame', county: '533102', park: 'ruili-coop', segment: 'weaving', seed: 14 },
  { firmId: FIRM_A, deviceId: 'grafana-meter-a1', type: 'electricity_meter', county: '533102', park: 'ruili-coop', segment: 'weaving', seed: 15 },
  { firmId: FIRM_B, deviceId: 'grafana-dye-b1', type: 'dyeing_machine', county: '533103', park: 'mangshi', segment: 'dyeing', seed: 21 },
  { firmId: FIRM_B, deviceId: 'grafana-loom-b1', type: 'loom', county: '533103', park: 'mangshi', segment: 'dyeing', seed: 22 },
  { firmId: FIRM_B, deviceId: 'grafana-spin-b1', type: 'spinning_frame', county: '533103', park: 'mangshi', segment: 'dyeing', seed: 23 },
  { firmId: FIRM_B, deviceId: 'grafana-meter-b1', type: 'electricity_meter', county: '533103', park: 'mangshi', segment: 'dyeing', seed: 24 },
];
/** Template variable values the queries run with: firm A has every simulated type, the device is a loom. */
const VARIABLES: Record<string, string> = { firm: FIRM_A, device: 'grafana-loom-a1' };
/** Messages of this device that "never arrived", so the sequence-gap panel has something to show. */
const LOST = { deviceId: 'grafana-loom-a1', seqs: new Set([40, 41, 42]) };

/** Two hours of 1-minute points per device, ending a minute ago, with state changes as the models report them. */
function seedLines(): string[] {
  const step = 60_000;
  const end = Math.floor(Date.now() / step) * step - step;
  const start = end - 2 * 3_600_000;
  const lines: string[] = [];
  for (const d of DEVICES) {
    const spec = deviceType(d.type);
    assert.ok(spec, `catalogue has ${d.type}`);
    const model = createModel(d.type, seededRng(d.seed));
    const tags = tagSet(d);
    const isMachine = !d.type.endsWith('_meter');
    let seq = 0;
    for (let ts = start; ts <= end; ts += step, seq++) {
      const reading = model.step(step, ts);
      if (ts === start && isMachine && !reading.state) lines.push(stateLine(tags, ts, 'running', undefined));
      if (d.deviceId === LOST.deviceId && LOST.seqs.has(seq)) continue;
      lines.push(telemetryLine(spec.measurement, tags, ts, seq, reading.metrics));
      if (reading.state) lines.push(stateLine(tags, ts, reading.state.state, reading.state.reason));
    }
  }
  return lines;
}

// ---- Grafana's macros, as its InfluxDB data source replaces them ---------------------------------------------

/** Replaces Grafana's macros and the template variables as the InfluxDB data source would for "last 6 hours". */
function substitute(query: string): string {
  return query
    .replace(/\$timeFilter/g, 'time >= now() - 6h and time <= now()')
    .replace(/\$__interval_ms/g, '60000')
    .replace(/\$__interval/g, '1m')
    .replace(/\$interval/g, '1m')
    .replace(/\[\[(\w+)\]\]|\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole: string, a?: string, b?: string, c?: string) => {
      const name = a ?? b ?? c ?? '';
      const value = VARIABLES[name];
      if (value === undefined) throw new Error(`no value for Grafana variable or macro ${whole} in: ${query}`);
      return value;
    });
}

function hasData(series: QueryResultSeries[]): boolean {
  return series.some((s) => s.values.some((row) => row.some((v, i) => s.columns[i] !== 'time' && v !== null && v !== undefined)));
}

interface NamedQuery { name: string; query: string }

function panelQueries(d: DashboardJson): NamedQuery[] {
  const out: NamedQuery[] = [];
  for (const p of d.panels) {
    for (const t of p.targets ?? []) {
      assert.ok(t.query, `${d.uid} panel "${p.title}" target ${t.refId} has a query`);
      out.push({ name: `${d.uid} · ${p.title} · ${t.refId}`, query: t.query });
    }
  }
  return out;
}

function variableQueries(d: DashboardJson): NamedQuery[] {
  return (d.templating.list ?? []).filter((v) => v.type === 'query').map((v) => {
    assert.equal(typeof v.query, 'string', `${d.uid} variable ${v.name} has an InfluxQL query`);
    return { name: `${d.uid} · variable ${v.name}`, query: v.query as string };
  });
}

describe('Grafana dashboards as code', () => {
  test('the committed JSON in dashboards/generated is what dashboards/generate.ts produces now', () => {
    const dir = path.join(ROOT, GENERATED_DIR);
    const stale: string[] = [];
    for (const [file, text] of rendered) {
      const p = path.join(dir, file);
      if (!fs.existsSync(p)) stale.push(`${file} is missing`);
      else if (fs.readFileSync(p, 'utf8') !== text) stale.push(`${file} is stale`);
    }
    for (const file of fs.readdirSync(dir)) if (file.endsWith('.json') && !rendered.has(file)) stale.push(`${file} is not generated any more`);
    assert.deepEqual(stale, [], `regenerate with: node --import tsx dashboards/generate.ts\n${stale.join('\n')}`);
  });

  test('generate.ts --check agrees, and exits 0', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'dashboards/generate.ts', '--check'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `generate.ts --check failed:\n${r.stdout}${r.stderr}`);
  });

  test('every dashboard: schemaVersion 42, unique panel ids, raw InfluxQL on the provisioned data source, $timeFilter in every SELECT', () => {
    assert.equal(generated.length, 4);
    for (const d of generated) {
      assert.equal(d.schemaVersion, 42, `${d.uid}: the pinned SDK emits schemaVersion 42 (docker-compose pins a Grafana that reads it)`);
      const ids = d.panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${d.uid}: panel ids are unique`);
      for (const p of d.panels) {
        if ((p.targets ?? []).length > 0) assert.deepEqual(p.datasource, DATASOURCE, `${d.uid} "${p.title}": panel data source`);
        for (const t of p.targets ?? []) {
          assert.deepEqual(t.datasource, DATASOURCE, `${d.uid} "${p.title}" uses the provisioned data source`);
          assert.equal(t.rawQuery, true);
          const q = t.query ?? '';
          const selects = q.match(/\bSELECT\b/g)?.length ?? 0;
          const filters = q.match(/\$timeFilter/g)?.length ?? 0;
          assert.equal(filters, selects, `${d.uid} "${p.title}": each SELECT (a subquery's outer query too) needs its own $timeFilter: ${q}`);
        }
      }
      for (const v of d.templating.list ?? []) assert.deepEqual(v.datasource, DATASOURCE, `${d.uid} variable ${v.name}`);
    }
  });

  describe('every panel and variable query against a real influxd with simulated data', () => {
    let influxd: PrivateInfluxd;
    let store: InfluxStore;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-dashboards-'));

    before(async () => {
      influxd = await startPrivateInfluxd(path.join(dir, 'influxdb'));
      store = new InfluxStore({ url: influxd.url, db: DB });
      await store.ensureDatabase();
      const lines = seedLines();
      for (let i = 0; i < lines.length; i += 5000) await store.write(lines.slice(i, i + 5000));
    });

    after(async () => {
      await store?.close();
      await influxd?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('the seeded data is there (every device, two hours of points)', async () => {
      const series = await store.query('SELECT count("seq") FROM /.*/ GROUP BY "device"');
      const devices = new Set(series.map((s) => s.tags.device));
      for (const d of DEVICES) assert.ok(devices.has(d.deviceId), `${d.deviceId} has points`);
      const states = await store.query('SELECT count("state") FROM "machine_state"');
      assert.ok(hasData(states), 'machine_state has points');
    });

    test('the variables list the seeded firms and devices', async () => {
      for (const d of generated) {
        for (const v of variableQueries(d)) {
          const values = (await store.query(substitute(v.query))).flatMap((s) => s.values.map((row) => row[s.columns.indexOf('value')]));
          const expected = v.name.endsWith('variable firm') ? [FIRM_A, FIRM_B] : v.name.endsWith('variable device') ? DEVICES.map((x) => x.deviceId) : [];
          for (const e of expected) assert.ok(values.includes(e), `${v.name} lists ${e} (got ${values.join(', ')})`);
        }
      }
    });

    for (const d of generated) {
      for (const q of [...variableQueries(d), ...panelQueries(d)]) {
        test(q.name, async () => {
          const influxql = substitute(q.query);
          let series: QueryResultSeries[];
          try {
            series = await store.query(influxql);
          } catch (err) {
            assert.fail(`query failed: ${(err as Error).message}\n${influxql}`);
          }
          assert.ok(hasData(series), `query returned no data:\n${influxql}`);
        });
      }
    }
  });
});
