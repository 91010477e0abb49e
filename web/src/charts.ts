// uPlot charts for streaming time series: fixed window, points appended as they arrive, one redraw per frame.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { TIME_ZONE, dateTime, num, qty } from './format.ts';
import { locale, t } from './i18n.ts';

export interface LineSpec {
  label: string;
  color: string;
  dash?: number[];
  width?: number;
  /** Draw points too (sparse data such as monthly values). */
  points?: boolean;
  /** Step line (codes, states). */
  stepped?: boolean;
}

export interface TimeChartOptions {
  series: LineSpec[];
  unit: string;
  height?: number;
  /** Keep only the last windowSec seconds when appending. */
  windowSec?: number;
  /** Fixed y range, e.g. [0, 1] for a share. */
  yRange?: [number, number];
  /** How y values are printed on the axis and in the legend. */
  format?: (v: number) => string;
  /** Axis labels for months instead of times. */
  months?: boolean;
  /** Title of the y axis (its unit), e.g. "kWh". */
  yLabel?: string;
}

export class TimeChart {
  private readonly u: uPlot;
  private readonly ro: ResizeObserver;
  private xs: number[] = [];
  private ys: Array<Array<number | null>>;
  private frame = 0;

  constructor(private readonly host: HTMLElement, private readonly opts: TimeChartOptions) {
    this.ys = opts.series.map(() => []);
    const fmt = opts.format ?? ((v: number) => qty(v, opts.unit));
    const axisFmt = opts.format ?? ((v: number) => num(v));
    const height = opts.height ?? 180;
    const options: uPlot.Options = {
      width: Math.max(200, host.clientWidth),
      height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
      scales: {
        // A streaming chart shows its whole window, ending at the newest point.
        // (From the data itself: uPlot widens the range of a single point by itself before asking.)
        x: { time: true, ...(opts.windowSec ? { range: (): uPlot.Range.MinMax => windowRange(this.xs, opts.windowSec ?? 0) } : {}) },
        ...(opts.yRange ? { y: { range: opts.yRange } } : {}),
      },
      series: [
        { label: t('colTime'), value: (_u, v) => (v === null || v === undefined ? '–' : opts.months ? monthLabel(v) : dateTime(v * 1000)) },
        ...opts.series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 2,
          ...(s.dash ? { dash: s.dash } : {}),
          ...(s.stepped ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : {}),
          // Lines need two points: a lone first point is drawn as a dot.
          points: { show: s.points ? true : (u: uPlot) => (u.data[0]?.length ?? 0) <= 2, size: 6 },
          value: (_u, v) => (v === null || v === undefined ? '–' : fmt(v)),
        })),
      ],
      axes: [
        {
          stroke: '#5b6b7b', grid: { stroke: '#e6eaee', width: 1 }, ticks: { stroke: '#e6eaee', width: 1 },
          values: (_u: uPlot, vals: number[], _axis: number, _space: number, incr: number) => vals.map((v) => (opts.months ? monthLabel(v) : timeLabel(v, incr))),
        },
        {
          stroke: '#5b6b7b', grid: { stroke: '#e6eaee', width: 1 }, ticks: { stroke: '#e6eaee', width: 1 }, size: 64, values: (_u, vals) => vals.map((v) => axisFmt(v)),
          ...(opts.yLabel ? { label: opts.yLabel, labelSize: 18 } : {}),
        },
      ],
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false, setScale: false } },
    };
    this.u = new uPlot(options, [[], ...opts.series.map(() => [])], host);
    this.ro = new ResizeObserver(() => {
      const w = Math.max(200, this.host.clientWidth);
      if (Math.abs(w - this.u.width) > 2) this.u.setSize({ width: w, height });
    });
    this.ro.observe(host);
  }

  /** Replaces the data: x in seconds, one array per series. */
  setData(xs: number[], ys: Array<Array<number | null>>): void {
    this.xs = xs;
    this.ys = ys;
    this.redraw();
  }

  /** Appends one point per series at x (seconds); older points than the window are dropped. */
  push(x: number, values: Array<number | null>): void {
    const last = this.xs[this.xs.length - 1];
    if (last !== undefined && x <= last) return;
    this.xs.push(x);
    values.forEach((v, i) => this.ys[i]?.push(v));
    if (this.opts.windowSec) {
      const min = x - this.opts.windowSec;
      let cut = 0;
      while (cut < this.xs.length && (this.xs[cut] ?? 0) < min) cut++;
      if (cut > 0) {
        this.xs.splice(0, cut);
        for (const y of this.ys) y.splice(0, cut);
      }
    }
    this.redraw();
  }

  get length(): number {
    return this.xs.length;
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.ro.disconnect();
    this.u.destroy();
  }

  private redraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.u.setData([this.xs, ...this.ys]);
      this.host.dataset.points = String(this.xs.length);
    });
  }
}

/** The last windowSec seconds up to the newest point (or up to now while there is no data). */
function windowRange(xs: readonly number[], windowSec: number): uPlot.Range.MinMax {
  const end = xs[xs.length - 1] ?? Date.now() / 1000;
  return [Math.min(xs[0] ?? end, end - windowSec), end];
}

const labelFormats = new Map<string, Intl.DateTimeFormat>();
function timeLabel(sec: number, incr: number): string {
  const kind = incr < 60 ? 'hms' : incr < 86_400 ? 'hm' : 'md';
  const key = `${locale()}/${kind}`;
  let f = labelFormats.get(key);
  if (!f) {
    const o: Intl.DateTimeFormatOptions = kind === 'md' ? { month: '2-digit', day: '2-digit' } : { hour: '2-digit', minute: '2-digit', ...(kind === 'hms' ? { second: '2-digit' } : {}), hourCycle: 'h23' };
    f = new Intl.DateTimeFormat(locale(), { timeZone: TIME_ZONE, ...o });
    labelFormats.set(key, f);
  }
  return f.format(sec * 1000);
}

function monthLabel(sec: number): string {
  const d = new Date(sec * 1000 + 8 * 3_600_000);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Seconds of the first instant of a month "YYYY-MM" in Asia/Shanghai. */
export function monthStartSec(month: string): number {
  const [y, m] = month.split('-').map(Number);
  return (Date.UTC(y ?? 1970, (m ?? 1) - 1, 1) - 8 * 3_600_000) / 1000;
}

export const COLORS = {
  blue: '#1769aa',
  teal: '#00897b',
  orange: '#ef6c00',
  red: '#c62828',
  grey: '#78909c',
  purple: '#6a1b9a',
  green: '#2e7d32',
  series: ['#1769aa', '#ef6c00', '#00897b', '#6a1b9a', '#c62828', '#5d4037', '#3949ab', '#7cb342', '#f9a825'],
};
