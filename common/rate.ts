// Fixed-window counters per key (source address, token): enough to throttle bad clients without a dependency,
// and to log once per burst instead of once per refused attempt. Used by the broker and the API.
export class WindowCounter {
  private window = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly limit: number, private readonly windowMs = 60_000) {}

  private roll(now: number): void {
    const w = Math.floor(now / this.windowMs);
    if (w !== this.window) {
      this.window = w;
      this.counts.clear();
    }
  }

  /** Counts one event; `over` once the key passed the limit in this window, `first` on the first such event. */
  hit(key: string, now = Date.now()): { over: boolean; first: boolean; count: number } {
    this.roll(now);
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return { over: count > this.limit, first: count === this.limit + 1, count };
  }

  /** Whether the key is already over the limit in this window, without counting. */
  isOver(key: string, now = Date.now()): boolean {
    this.roll(now);
    return (this.counts.get(key) ?? 0) >= this.limit;
  }

  /** Milliseconds until the current window ends and every key starts again from zero. */
  resetInMs(now = Date.now()): number {
    return this.windowMs - (now % this.windowMs);
  }
}
