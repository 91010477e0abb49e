// Every generated dashboard, rendered as the JSON committed under dashboards/generated/ (one file per uid).
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DATASOURCE } from './common.ts';
import { deviceDetail } from './device.ts';
import { firmEnergy } from './firm.ts';
import { ingestHealth } from './ingest-health.ts';
import { prefectureEnergy } from './prefecture-energy.ts';

export const GENERATED_DIR = 'dashboards/generated';

export function dashboards(): Dashboard[] {
  return [prefectureEnergy(), firmEnergy(), deviceDetail(), ingestHealth()];
}

/**
 * Gives every panel (rows included) an id, unique within its dashboard, in layout order, and names the provisioned
 * data source on every panel that queries (its targets name it too), so nothing depends on Grafana's default.
 */
function finish(d: Dashboard): Dashboard {
  let id = 1;
  for (const p of d.panels ?? []) {
    p.id = id++;
    if (p.type !== 'row' && 'targets' in p && p.targets && p.targets.length > 0) p.datasource = { ...DATASOURCE };
  }
  return d;
}

/** File name (relative to GENERATED_DIR) → file content, in a stable order and format. */
export function renderDashboards(): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of dashboards()) {
    if (!d.uid) throw new Error(`dashboard "${d.title}" has no uid`);
    const file = `${d.uid}.json`;
    if (out.has(file)) throw new Error(`two dashboards with uid ${d.uid}`);
    out.set(file, `${JSON.stringify(finish(d), null, 2)}\n`);
  }
  return out;
}
