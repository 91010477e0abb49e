// Latency histograms that cross processes: a process counts observations into fixed buckets and publishes them on
// the spool's status board with its other figures (flat numbers, like every status value); the API's /metrics
// turns them back into a Prometheus histogram. Fixed buckets, so the figures of several processes add up.

/** Upper bounds in seconds, from a fast commit (an fsync is about 3 ms here) to an outage's backlog. */
export const LATENCY_BUCKETS_S: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class LatencyHistogram {
  /** Per bucket (not cumulative), plus one for +Inf. */
  private readonly counts = new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0);
  private sum = 0;
  private n = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.n++;
  }

  /** As status values: `<name>:le:<bound>` (cumulative), `<name>:sum`, `<name>:count`. */
  toStatus(name: string): Record<string, number> {
    const out: Record<string, number> = {};
    let cumulative = 0;
    LATENCY_BUCKETS_S.forEach((b, i) => {
      cumulative += this.counts[i]!;
      out[`${name}:le:${b}`] = cumulative;
    });
    out[`${name}:sum`] = this.sum;
    out[`${name}:count`] = this.n;
    return out;
  }
}

export interface HistogramFigures {
  /** Cumulative count per upper bound, the last one +Inf (= count). */
  buckets: Array<{ le: string; count: number }>;
  sum: number;
  count: number;
}

/** The histogram `name` from status values, or undefined when the process did not publish it. */
export function histogramFromStatus(values: Readonly<Record<string, number>>, name: string): HistogramFigures | undefined {
  const count = values[`${name}:count`];
  if (count === undefined) return undefined;
  const buckets = LATENCY_BUCKETS_S.map((b) => ({ le: String(b), count: values[`${name}:le:${b}`] ?? 0 }));
  buckets.push({ le: '+Inf', count });
  return { buckets, sum: values[`${name}:sum`] ?? 0, count };
}
