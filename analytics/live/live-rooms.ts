// Per-room aggregates of the live summaries, for socket.io push: one room for the prefecture ('all', the name
// api/live.ts already uses), and one per county, park, segment, firm and device ('county:<code>', 'park:<id>',
// 'segment:<id>', 'firm:<id>', 'device:<id>'). Each room gets at most one update per interval (1 s), and only
// when one of its devices changed. Power and flows follow the same meters-first rule as the REST figures.
import { METER_TYPE, RATE_METRIC } from '../energy/carriers.ts';
import { CARRIERS, type Carrier } from '../energy/factors.ts';
import type { ApiPrincipal, Registry } from '../../common/registry/registry.ts';
import { LiveLatest } from './latest.ts';
import { firmInScope, parseRoom, scopeAccess } from '../base/scope.ts';
import { TIME_KEYS, type TimeKey } from '../states/states.ts';
import type { LiveDevice } from '../../common/contract/live.ts';

/** A device of the broker's live summary (common/contract/live.ts). */
export type LiveRoomDevice = LiveDevice;

export interface LiveRoomSummary {
  at: number;
  devices: readonly LiveRoomDevice[];
}

export interface RoomAggregate {
  room: string;
  at: number;
  /** Devices of the room known to the API: seen on the live feed, or in InfluxDB when the API started. */
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

interface FirmAgg {
  county: string;
  park: string;
  segment: string;
  devices: number;
  reporting: number;
  states: Record<TimeKey, number>;
  rates: Record<Carrier, number>;
}

const zeroStates = () => Object.fromEntries(TIME_KEYS.map((k) => [k, 0])) as Record<TimeKey, number>;
const zeroRates = (): Record<Carrier, number> => ({ electricity: 0, gas: 0, steam: 0, water: 0 });

export class LiveRoomAggregator {
  private readonly lastEmit = new Map<string, number>();
  private readonly pendingRooms = new Set<string>();
  private readonly pendingDevices = new Set<string>();
  /** The newest summary's time (the broker's clock, as every update carries). */
  private lastAt: number | undefined;

  /** `latest` holds each device's latest values (shared with the overviews); update() feeds it. */
  constructor(private readonly opts: LiveRoomOptions = { staleMs: 120_000, minIntervalMs: 1000 }, readonly latest: LiveLatest = new LiveLatest()) {}

  /**
   * Takes one live summary; returns the rooms whose update is due now (at most once per interval each, and only
   * rooms `wanted` says someone listens to, e.g. `(r) => io.sockets.adapter.rooms.has(r)`).
   */
  update(summary: LiveRoomSummary, wanted: (room: string) => boolean = () => true): RoomAggregate[] {
    this.latest.take(summary);
    this.lastAt = Math.max(this.lastAt ?? summary.at, summary.at);
    const dirtyFirms = new Set<string>();
    for (const d of summary.devices) {
      dirtyFirms.add(d.firmId);
      this.pendingDevices.add(d.deviceId);
    }
    for (const firmId of dirtyFirms) {
      const any = this.latest.get(this.latest.firms().get(firmId)?.values().next().value ?? '');
      if (!any) continue;
      for (const r of ['all', `county:${any.county}`, `park:${any.park}`, `segment:${any.segment}`, `firm:${firmId}`]) this.pendingRooms.add(r);
    }
    const due: string[] = [];
    const isDue = (room: string) => summary.at - (this.lastEmit.get(room) ?? -Infinity) >= this.opts.minIntervalMs;
    for (const room of this.pendingRooms) {
      if (!isDue(room)) continue;
      this.pendingRooms.delete(room);
      if (wanted(room)) due.push(room);
    }
    for (const id of this.pendingDevices) {
      const room = `device:${id}`;
      if (!isDue(room)) continue;
      this.pendingDevices.delete(id);
      if (wanted(room)) due.push(room);
    }
    if (due.length === 0) return [];
    // Every firm once, then the wider rooms as sums of their firms: one pass over the devices per update.
    const firms = due.some((r) => !r.startsWith('device:')) ? this.firmAggregates(summary.at) : new Map<string, FirmAgg>();
    const out: RoomAggregate[] = [];
    for (const room of due) {
      const agg = this.aggregateFrom(room, summary.at, firms);
      if (!agg) continue;
      this.lastEmit.set(room, summary.at);
      out.push(agg);
    }
    return out;
  }

  /** The current aggregate of a room (e.g. for a client that just joined). */
  aggregate(room: string, at = this.lastAt ?? Date.now()): RoomAggregate | undefined {
    // A device room needs no firm pass (a subscribe must not cost a pass over every device).
    const firms = room.startsWith('device:') ? new Map<string, FirmAgg>() : this.firmAggregates(at, room.startsWith('firm:') ? room.slice(5) : undefined);
    return this.aggregateFrom(room, at, firms);
  }

  private firmAggregates(at: number, only?: string): Map<string, FirmAgg> {
    const out = new Map<string, FirmAgg>();
    for (const [firmId, ids] of this.latest.firms()) {
      if (only !== undefined && firmId !== only) continue;
      const meters = zeroRates();
      const machines = zeroRates();
      const hasMeter = new Set<Carrier>();
      const states = zeroStates();
      let reporting = 0;
      let first: LiveRoomDevice | undefined;
      for (const id of ids) {
        const d = this.latest.get(id);
        if (!d) continue;
        first ??= d;
        states[(TIME_KEYS as readonly string[]).includes(d.state ?? '') ? (d.state as TimeKey) : 'unknown']++;
        for (const c of CARRIERS) if (d.type === METER_TYPE[c]) hasMeter.add(c);
        if (at - d.ts > this.opts.staleMs) continue;
        reporting++;
        for (const c of CARRIERS) {
          const metric = RATE_METRIC[c].byType[d.type];
          const v = metric ? d.metrics[metric] : undefined;
          if (v === undefined) continue;
          if (d.type === METER_TYPE[c]) meters[c] += v;
          else machines[c] += v;
        }
      }
      if (!first) continue;
      const rates = zeroRates();
      for (const c of CARRIERS) rates[c] = hasMeter.has(c) ? meters[c] : machines[c];
      out.set(firmId, { county: first.county, park: first.park, segment: first.segment, devices: ids.size, reporting, states, rates });
    }
    return out;
  }

  private aggregateFrom(room: string, at: number, firms: ReadonlyMap<string, FirmAgg>): RoomAggregate | undefined {
    if (room.startsWith('device:')) {
      const d = this.latest.get(room.slice('device:'.length));
      if (!d) return undefined;
      const device = d;
      const states = zeroStates();
      states[(TIME_KEYS as readonly string[]).includes(d.state ?? '') ? (d.state as TimeKey) : 'unknown'] = 1;
      const rates = zeroRates();
      for (const c of CARRIERS) {
        const metric = RATE_METRIC[c].byType[d.type];
        const v = metric ? d.metrics[metric] : undefined;
        if (v !== undefined && at - d.ts <= this.opts.staleMs) rates[c] = v;
      }
      return { room, at, devices: 1, reporting: at - d.ts <= this.opts.staleMs ? 1 : 0, firms: 1, states, rates, device };
    }
    const scope = parseRoom(room);
    if (!scope) return undefined;
    const agg: RoomAggregate = { room, at, devices: 0, reporting: 0, firms: 0, states: zeroStates(), rates: zeroRates() };
    for (const [id, f] of firms) {
      if (!firmInScope({ id, county: f.county, park: f.park, segment: f.segment }, scope)) continue;
      agg.firms++;
      agg.devices += f.devices;
      agg.reporting += f.reporting;
      for (const k of TIME_KEYS) agg.states[k] += f.states[k];
      for (const c of CARRIERS) agg.rates[c] += f.rates[c];
    }
    return agg.firms > 0 ? agg : undefined;
  }
}

/**
 * Whether a principal may join a live room: admin and bureau any room; an engineer only their firm's room and
 * the rooms of their firm's devices (`deviceFirm` looks a device's firm up).
 */
export function mayJoinRoom(p: ApiPrincipal, room: string, deviceFirm: (deviceId: string) => string | undefined): boolean {
  const scope = parseRoom(room);
  if (!scope) return false;
  const firmId = scope.kind === 'device' ? deviceFirm(scope.id) : undefined;
  return scopeAccess(p, scope, firmId === undefined ? undefined : { firmId }) === 'ok';
}

/** mayJoinRoom with the device's firm looked up in the registry (for a socket.io 'subscribe' handler). */
export async function authorizeRoom(p: ApiPrincipal, room: string, registry: Pick<Registry, 'getDevice'>): Promise<boolean> {
  const scope = parseRoom(room);
  if (!scope) return false;
  const firmId = scope.kind === 'device' && p.role === 'engineer' ? (await registry.getDevice(scope.id))?.firmId : undefined;
  return mayJoinRoom(p, room, () => firmId);
}
