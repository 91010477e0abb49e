// A loom's month written straight into the store (no broker: a month of points would take minutes through MQTT):
// one reading a minute of every chart metric and a state change every few hours, for the device page over a
// range and the downsampled telemetry endpoint.
import { stateLine, tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';

const MINUTE = 60_000;
const STATES = ['running', 'idle', 'fault', 'running', 'setup', 'stopped'] as const;

/** Writes [from, to) of a loom: speed and efficiency each minute (with a spike now and then), a state change every 5 h 7 min. */
export async function writeLoomRange(store: TelemetryStore, firm: NewFirm, deviceId: string, from: number, to: number): Promise<void> {
  const tags = tagSet({ deviceId, firmId: firm.id, county: firm.county, park: firm.park, segment: firm.segment, type: 'loom' });
  let lines: string[] = [];
  let seq = 0;
  for (let ts = from; ts < to; ts += MINUTE) {
    const i = (ts - from) / MINUTE;
    // A smooth daily wave, and a one-minute spike every 97 minutes that a mean alone would hide.
    const speed = i % 97 === 0 ? 1500 : Math.round(600 + 200 * Math.sin(i / 240));
    const metrics = { speed_rpm: speed, efficiency_pct: 50 + (i % 40), power_kw: 5 + (i % 7) / 2 };
    lines.push(telemetryLine('loom', tags, ts, seq++, metrics));
    if (i % 307 === 0) lines.push(stateLine(tags, ts, STATES[(i / 307) % STATES.length] ?? 'running', undefined));
    if (lines.length >= 5000) { await store.write(lines); lines = []; }
  }
  await store.write(lines);
}
