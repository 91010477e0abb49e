// InfluxDB line protocol for admitted messages. Series identity is measurement + tags + timestamp, all derived
// from the device and its own timestamp, so a redelivered message overwrites itself instead of doubling.
export interface DeviceTags {
  firmId: string;
  deviceId: string;
  type: string;
  county: string;
  park: string;
  segment: string;
}

export const STATE_MEASUREMENT = 'machine_state';

/** Tag keys and values escape commas, equals signs and spaces. */
export function escapeTag(v: string): string {
  return v.replace(/[\\,= ]/g, (ch) => `\\${ch}`);
}

function escapeString(v: string): string {
  return v.replace(/[\\"]/g, (ch) => `\\${ch}`);
}

/** Sorted tag set (InfluxDB's preferred order), computed once per device. */
export function tagSet(t: DeviceTags): string {
  const tags: Array<[string, string]> = [
    ['county', t.county],
    ['device', t.deviceId],
    ['firm', t.firmId],
    ['park', t.park],
    ['segment', t.segment],
    ['type', t.type],
  ];
  return tags.filter(([, v]) => v !== '').map(([k, v]) => `${k}=${escapeTag(v)}`).join(',');
}

export function telemetryLine(measurement: string, tags: string, tsMs: number, seq: number, metrics: Record<string, number>): string {
  let fields = '';
  for (const name in metrics) fields += `${name}=${metrics[name]},`;
  return `${measurement},${tags} ${fields}seq=${seq}i ${tsMs}`;
}

export function stateLine(tags: string, tsMs: number, state: string, reason: string | undefined): string {
  const reasonField = reason ? `,reason="${escapeString(reason)}"` : '';
  return `${STATE_MEASUREMENT},${tags} state="${escapeString(state)}"${reasonField} ${tsMs}`;
}
