// The replay window: the device timestamps admitted recently for one device, each with a hash of what was admitted
// at it. A point at a timestamp in the window with the same hash is a redelivery (idempotent); with another hash it
// would rewrite stored history and is refused (rule `conflict`). Older timestamps have left the window and are not
// checked. Typed arrays in a ring that grows to its capacity: 12 bytes a point, no allocation per point.

/** A point's timestamp newer than every one in the window cannot be in it: the common case costs one comparison. */
export const NOT_FOUND = -1;

export class ReplayWindow {
  private ts: Float64Array;
  private hashes: Uint32Array;
  /** Next slot to write (the oldest entry once full). */
  private head = 0;
  private size = 0;
  private newest = -Infinity;

  constructor(private readonly capacity: number, initial = 32) {
    const n = Math.max(1, Math.min(capacity, initial));
    this.ts = new Float64Array(n);
    this.hashes = new Uint32Array(n);
  }

  /** The hash admitted at `ts`, or NOT_FOUND. Scans newest first, so a redelivery of a recent point is found at once. */
  find(ts: number): number {
    if (ts > this.newest || this.size === 0) return NOT_FOUND;
    const n = this.ts.length;
    for (let i = 1, slot = this.head; i <= this.size; i++) {
      slot = slot === 0 ? n - 1 : slot - 1;
      if (this.ts[slot] === ts) return this.hashes[slot]!;
    }
    return NOT_FOUND;
  }

  /** Remembers `ts` (not already in the window); the oldest entry leaves once the window is full. */
  add(ts: number, hash: number): void {
    if (this.size === this.ts.length && this.size < this.capacity) this.grow();
    this.ts[this.head] = ts;
    this.hashes[this.head] = hash >>> 0;
    this.head = (this.head + 1) % this.ts.length;
    if (this.size < this.ts.length) this.size++;
    if (ts > this.newest) this.newest = ts;
  }

  get length(): number {
    return this.size;
  }

  /** Doubles the ring (up to the capacity), oldest entry first. */
  private grow(): void {
    const n = Math.min(this.capacity, this.ts.length * 2);
    const ts = new Float64Array(n);
    const hashes = new Uint32Array(n);
    // Full, so the oldest entry is at head.
    const tail = this.ts.length - this.head;
    ts.set(this.ts.subarray(this.head), 0);
    ts.set(this.ts.subarray(0, this.head), tail);
    hashes.set(this.hashes.subarray(this.head), 0);
    hashes.set(this.hashes.subarray(0, this.head), tail);
    this.head = this.size;
    this.ts = ts;
    this.hashes = hashes;
  }
}

const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);

/** murmur3's 32-bit finaliser. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function numberHash(x: number, seed: number): number {
  scratch[0] = x;
  return mix(Math.imul(seed ^ words[0]!, 0x9e3779b1) ^ mix(words[1]! + seed));
}

const nameHashes = new Map<string, number>();

/** Names are metric names the schema accepted, so this map is bounded by the catalogue. */
function nameHash(name: string): number {
  let h = nameHashes.get(name);
  if (h === undefined) {
    h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    h = mix(h);
    nameHashes.set(name, h);
  }
  return h;
}

/** A hash of what a point says (seq and every metric), independent of the order its metrics were written in. */
export function pointHash(seq: number, metrics: Readonly<Record<string, number>>): number {
  let h = numberHash(seq, 0x5bd1e995);
  for (const name in metrics) h = (h + numberHash(metrics[name]!, nameHash(name))) >>> 0;
  return h;
}
