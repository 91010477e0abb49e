// Per-room aggregates of the live summaries, for socket.io push: one room for the prefecture ('all', the name
// api/live.ts already uses), and one per county, park, segment, firm and device ('county:<code>', 'park:<id>',
// 'segment:<id>', 'firm:<id>', 'device:<id>'). Each room gets at most one update per interval (1 s), and only
// when one of its devices changed. Power and flows follow the same meters-first rule as the REST figures.
import { METER_TYPE, RATE_METRIC } from '../energy/carriers.ts';
import { CARRIERS, type Carrier } from '../energy/factors.ts';
import type { ApiPrincipal, Registry } from '../registry/registry.ts';
import { parseRoom } from './scope.ts';
import { TIME_KEYS, type TimeKey } from './states.ts';

export interface LiveRoomDevice {
  deviceId: string;
  firmId: string;
  county: string;
  park: string;
  segment: string;
  type: string;
  ts: number;
  metrics: Record<string, number>;
  state?: string;
}

export interface LiveRoomSummary {
  at: number;
  devices: readonly LiveRoomDevice[];
}

export interface RoomAggregate {
  room: string;
  at: number;
  /** Devices of the room seen on the live feed since the API started. */
  devices: number;
  /** Of those, devices whose newest telemetry is at most staleMs old. */
  reporting: number;
  firms: number;
  /** Devices per machine state (their latest known state). */
  states: Record<TimeKey, number>;
  /** kW, m³/h, kg/h, m³/h: latest rates of reporting devices, meters first per firm. */
  rates: Record<Carrier, number>;
  /** Only in device rooms: the device's latest values. */
  device?: LiveRoomDevice;
}

export interface LiveRoomOptions {
  staleMs: number;
  minIntervalMs: number;
}

function roomsOf(d: LiveRoomDevice): string[] {
  return ['all', `county:${d.county}`, `park:${d.park}`, `segment:${d.segment}`, `firm:${d.firmId}`, `device:${d.deviceId}`];
}

export class LiveRoomAggregator {
  private readonly latest = new Map<string, LiveRoomDevice & { seenAt: number }>();
  private readonly members = new Map<string, Set<string>>();
  private readonly lastEmit = new Map<string, number>();
  private readonly pending = new Set<string>();

  constructor(private readonly opts: LiveRoomOptions = { staleMs: 120_000, minIntervalMs: 1000 }) {}

  /** Takes one live summary; returns the rooms whose update is due now (at most once per interval each). */
  update(summary: LiveRoomSummary): RoomAggregate[] {
    for (const d of summary.devices) {
      const prev = this.latest.get(d.deviceId);
      if (!prev) for (const r of roomsOf(d)) {
        const set = this.members.get(r) ?? new Set<string>();
        set.add(d.deviceId);
        this.members.set(r, set);
      }
      this.latest.set(d.deviceId, { ...d, metrics: { ...(prev?.metrics ?? {}), ...d.metrics }, seenAt: summary.at });
      for (const r of roomsOf(d)) this.pending.add(r);
    }
    const out: RoomAggregate[] = [];
    for (const room of [...this.pending]) {
      if (summary.at - (this.lastEmit.get(room) ?? -Infinity) < this.opts.minIntervalMs) continue;
      const agg = this.aggregate(room, summary.at);
      if (!agg) continue;
      this.pending.delete(room);
      this.lastEmit.set(room, summary.at);
      out.push(agg);
    }
    return out;
  }

  /** The current aggregate of a room (e.g. for a client that just joined). */
  aggregate(room: string, at = Date.now()): RoomAggregate | undefined {
    const ids = this.members.get(room);
    if (!ids) return undefined;
    const states = Object.fromEntries(TIME_KEYS.map((k) => [k, 0])) as Record<TimeKey, number>;
    const firms = new Map<string, { meters: Record<Carrier, number>; machines: Record<Carrier, number>; hasMeter: Set<Carrier> }>();
    let reporting = 0;
    for (const id of ids) {
      const d = this.latest.get(id);
      if (!d) continue;
      const st = (TIME_KEYS as readonly string[]).includes(d.state ?? '') ? (d.state as TimeKey) : 'unknown';
      states[st]++;
      const f = firms.get(d.firmId) ?? { meters: { electricity: 0, gas: 0, steam: 0, water: 0 }, machines: { electricity: 0, gas: 0, steam: 0, water: 0 }, hasMeter: new Set<Carrier>() };
      for (const c of CARRIERS) if (d.type === METER_TYPE[c]) f.hasMeter.add(c);
      firms.set(d.firmId, f);
      if (at - d.ts > this.opts.staleMs) continue;
      reporting++;
      for (const c of CARRIERS) {
        const metric = RATE_METRIC[c].byType[d.type];
        const v = metric ? d.metrics[metric] : undefined;
        if (v === undefined) continue;
        if (d.type === METER_TYPE[c]) f.meters[c] += v;
        else f.machines[c] += v;
      }
    }
    const rates: Record<Carrier, number> = { electricity: 0, gas: 0, steam: 0, water: 0 };
    for (const f of firms.values()) for (const c of CARRIERS) rates[c] += f.hasMeter.has(c) ? f.meters[c] : f.machines[c];
    const agg: RoomAggregate = { room, at, devices: ids.size, reporting, firms: firms.size, states, rates };
    if (room.startsWith('device:')) {
      const d = this.latest.get(room.slice('device:'.length));
      if (d) {
        const { seenAt: _seenAt, ...device } = d;
        agg.device = device;
      }
    }
    return agg;
  }
}

/**
 * Whether a principal may join a live room: admin and bureau any room; an engineer only their firm's room and
 * the rooms of their firm's devices (`deviceFirm` looks a device's firm up).
 */
export function mayJoinRoom(p: ApiPrincipal, room: string, deviceFirm: (deviceId: string) => string | undefined): boolean {
  const scope = parseRoom(room);
  if (!scope) return false;
  if (p.role !== 'engineer') return true;
  if (scope.kind === 'firm') return scope.id === p.firmId;
  if (scope.kind === 'device') return deviceFirm(scope.id) === p.firmId;
  return false;
}

/** mayJoinRoom with the device's firm looked up in the registry (for a socket.io 'subscribe' handler). */
export async function authorizeRoom(p: ApiPrincipal, room: string, registry: Pick<Registry, 'getDevice'>): Promise<boolean> {
  const scope = parseRoom(room);
  if (!scope) return false;
  const firmId = scope.kind === 'device' && p.role === 'engineer' ? (await registry.getDevice(scope.id))?.firmId : undefined;
  return mayJoinRoom(p, room, () => firmId);
}
