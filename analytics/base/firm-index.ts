// A short-lived cache of the registry's firms and devices for the monitoring queries (which firm has which
// meters, where a firm is), refreshed at most every few seconds instead of on every request. An expired snapshot
// is still served while the refresh runs (listing 30,000 devices takes a while), unless it is much older.
import type { Device, Firm, Registry } from '../../common/registry/registry.ts';

export interface FirmIndexSnapshot {
  at: number;
  firms: Map<string, Firm>;
  devices: Map<string, Device>;
  devicesByFirm: Map<string, Device[]>;
  typesByFirm: Map<string, Set<string>>;
}

export class FirmIndex {
  private snapshot: FirmIndexSnapshot | undefined;
  private loading: Promise<FirmIndexSnapshot> | undefined;

  constructor(private readonly registry: Registry, private readonly ttlMs = 15_000) {}

  async get(): Promise<FirmIndexSnapshot> {
    const age = this.snapshot ? Date.now() - this.snapshot.at : Infinity;
    if (this.snapshot && age < this.ttlMs) return this.snapshot;
    if (!this.loading) {
      this.loading = this.load().finally(() => { this.loading = undefined; });
    }
    if (this.snapshot && age < 4 * this.ttlMs) {
      this.loading.catch(() => undefined); // the next get() after the limit sees the error
      return this.snapshot;
    }
    return this.loading;
  }

  invalidate(): void {
    this.snapshot = undefined;
  }

  private async load(): Promise<FirmIndexSnapshot> {
    const [firms, devices] = await Promise.all([this.registry.listFirms(), this.registry.listDevices()]);
    const s: FirmIndexSnapshot = { at: Date.now(), firms: new Map(firms.map((f) => [f.id, f])), devices: new Map(), devicesByFirm: new Map(), typesByFirm: new Map() };
    for (const d of devices) {
      s.devices.set(d.id, d);
      const list = s.devicesByFirm.get(d.firmId) ?? [];
      list.push(d);
      s.devicesByFirm.set(d.firmId, list);
      const types = s.typesByFirm.get(d.firmId) ?? new Set<string>();
      types.add(d.type);
      s.typesByFirm.set(d.firmId, types);
    }
    this.snapshot = s;
    return s;
  }
}
