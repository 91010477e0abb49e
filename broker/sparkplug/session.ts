// What the host remembers of one edge node between its messages (Sparkplug B 3.0): the bdSeq of its current
// session (an NDEATH, often the will of an older connection, counts only when its bdSeq matches), the next `seq`
// (0-255, wrapping, over NBIRTH, NDATA, DBIRTH, DDATA and DDEATH), the metric names and aliases its births
// defined, and which of its devices are born. Pure: the host (host.ts) decides what to publish and store.
import type { SparkplugMetric } from './payload.ts';

const SEQ_MODULUS = 256;
/** The edge node itself in the alias tables (device ids are never empty). */
const NODE = '';

export type SeqCheck = 'ok' | 'gap' | 'repeat';

export interface Resolved {
  /** Metrics with their names (from the birth when the message used an alias). */
  metrics: SparkplugMetric[];
  /** Aliases the birth did not define. */
  unknownAliases: number[];
}

export class EdgeNodeSession {
  bdSeq: number | undefined;
  /** An NBIRTH was seen and no NDEATH since. */
  born = false;
  /** The connection (its identity object) that sent the NBIRTH: a session does not outlive its connection. */
  owner: object | undefined;
  private nextSeq = 0;
  private lastSeq = -1;
  private readonly aliases = new Map<string, Map<number, string>>();
  private readonly devicesBorn = new Set<string>();
  /** Per device: a running number for the contract's `seq`, one per point, across rebirths. */
  private readonly pointSeq = new Map<string, { next: number; lastFirst: number }>();
  lastRebirthRequest = -Infinity;
  /** Per device and metric name: the newest timestamp taken, across rebirths (a birth repeats current values). */
  private readonly newest = new Map<string, Map<string, number>>();

  /** A new session: everything the old births defined is forgotten. */
  nbirth(owner: object, bdSeq: number | undefined, seq: number | undefined, metrics: readonly SparkplugMetric[]): void {
    this.owner = owner;
    this.bdSeq = bdSeq;
    this.born = true;
    this.aliases.clear();
    this.devicesBorn.clear();
    this.define(NODE, metrics);
    this.accept(seq ?? 0);
  }

  /** True when the connection has a session: its NBIRTH came on this connection. */
  bornOn(owner: object): boolean {
    return this.born && this.owner === owner;
  }

  /**
   * True when the NDEATH ends the current session (sent on its connection, e.g. as its will, with its bdSeq):
   * the node and its devices go offline. An older connection's will, after a new NBIRTH, does not.
   */
  ndeath(owner: object, bdSeq: number | undefined): boolean {
    if (!this.bornOn(owner) || (bdSeq !== undefined && this.bdSeq !== undefined && bdSeq !== this.bdSeq)) return false;
    this.born = false;
    return true;
  }

  /** Checks a message's seq against the expected one and moves on from it (a gap is noticed once). */
  checkSeq(seq: number | undefined): SeqCheck {
    if (seq === undefined) return 'gap';
    if (seq === this.lastSeq) return 'repeat'; // a QoS 1 redelivery of the last message
    const result: SeqCheck = seq === this.nextSeq ? 'ok' : 'gap';
    this.accept(seq);
    return result;
  }

  dbirth(deviceId: string, metrics: readonly SparkplugMetric[]): void {
    this.define(deviceId, metrics);
    this.devicesBorn.add(deviceId);
  }

  /** Forgets a device (DDEATH); true when it was born. */
  ddeath(deviceId: string): boolean {
    this.aliases.delete(deviceId);
    return this.devicesBorn.delete(deviceId);
  }

  isBorn(deviceId: string): boolean {
    return this.devicesBorn.has(deviceId);
  }

  /** The born devices (all go offline with the node). */
  bornDevices(): string[] {
    return [...this.devicesBorn];
  }

  /** Names the metrics of a data message from the birth's aliases (a name in the message wins). */
  resolve(deviceId: string | undefined, metrics: readonly SparkplugMetric[]): Resolved {
    const table = this.aliases.get(deviceId ?? NODE);
    const out: SparkplugMetric[] = [];
    const unknownAliases: number[] = [];
    for (const m of metrics) {
      if (m.name !== undefined) out.push(m);
      else {
        const name = m.alias === undefined ? undefined : table?.get(m.alias);
        if (name === undefined) unknownAliases.push(m.alias ?? -1);
        else out.push({ ...m, name });
      }
    }
    return { metrics: out, unknownAliases };
  }

  /**
   * `count` consecutive contract sequence numbers for the device; returns the first. A redelivered message gets
   * the numbers it had, so admission sees the same points again (a redelivery, not a conflict).
   */
  takePointSeq(deviceId: string, count: number, repeat: boolean): number {
    const st = this.pointSeq.get(deviceId) ?? { next: 0, lastFirst: 0 };
    if (repeat) return st.lastFirst;
    this.pointSeq.set(deviceId, { next: st.next + count, lastFirst: st.next });
    return st.next;
  }

  /**
   * The metrics of a device's message worth storing, with the newest time of each remembered: a DBIRTH repeats
   * current values with the time they were read, and storing one already taken again under another contract seq
   * would be a conflict, so a birth's metric no newer than what was taken is left out. Data is always kept (a
   * late value is store-and-forward).
   */
  take(deviceId: string, metrics: readonly SparkplugMetric[], fallbackTs: number, birth: boolean): SparkplugMetric[] {
    let times = this.newest.get(deviceId);
    if (!times) this.newest.set(deviceId, (times = new Map()));
    const out: SparkplugMetric[] = [];
    for (const m of metrics) {
      const ts = m.timestamp ?? fallbackTs;
      const seen = m.name === undefined ? undefined : times.get(m.name);
      if (birth && seen !== undefined && ts <= seen) continue;
      if (m.name !== undefined && (seen === undefined || ts > seen)) times.set(m.name, ts);
      out.push(m);
    }
    return out;
  }

  /** True (and remembered) when no rebirth was asked of this node within `intervalMs`. */
  mayRequestRebirth(now: number, intervalMs: number): boolean {
    if (now - this.lastRebirthRequest < intervalMs) return false;
    this.lastRebirthRequest = now;
    return true;
  }

  private accept(seq: number): void {
    this.lastSeq = seq;
    this.nextSeq = (seq + 1) % SEQ_MODULUS;
  }

  private define(scope: string, metrics: readonly SparkplugMetric[]): void {
    const table = new Map<number, string>();
    for (const m of metrics) if (m.alias !== undefined && m.name !== undefined) table.set(m.alias, m.name);
    this.aliases.set(scope, table);
  }
}
