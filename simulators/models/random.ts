// The seeded randomness every simulator draws from: one stream per device, so a scenario and a seed give the same
// readings and the same faults on every run.

export type Rng = () => number;

/** mulberry32: small, fast, deterministic given the seed. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from several parts (FNV-1a), e.g. seedFrom(2027, 'sim-loom-001'): one stream per device. */
export function seedFrom(...parts: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A uniform draw in [lo, hi). */
export const between = (rng: Rng, lo: number, hi: number) => lo + rng() * (hi - lo);
