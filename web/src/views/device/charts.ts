// The device view's charts, one per metric that is not a counter, over the picked range (the last hour by
// default) from the telemetry endpoint. A range whose raw points fit a chart (MAX_POINTS) is drawn from them; a
// longer one from the endpoint's interval means, with each interval's minimum and maximum as pale lines so a spike
// stays visible, and the chart says which. Only raw ranges still running are then extended from the live feed
// without reload. Live points that arrive before the history are held and appended after it, so the chart never
// goes back in time. The endpoint answers at most 31 days: a longer range shows its last 31 days and says so.
import { get, qs } from '../../api.ts';
import { COLORS, TimeChart } from '../../charts.ts';
import type { Scope } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { csvBlob, fileNamePart, saveBlob } from '../../download.ts';
import { unitLabel } from '../../format.ts';
import { pick } from '../../i18n.ts';
import { localDateTime, type TimeRange } from '../../range.ts';
import type { LiveDevice, MetricSpec } from '../../types.ts';
import { tx } from '../history/texts.ts';
import { chartInterval, MAX_POINTS } from './range-series.ts';
import { rx } from './range-texts.ts';

const MINUTE = 60_000;
const MAX_SPAN = 31 * 86_400_000;
const LIMIT = 100_000;

interface Point { ts: number; value: number; min?: number; max?: number }
interface Series { everyMs: number | null; points: Point[] }
interface Entry { spec: MetricSpec; host: HTMLElement; chart: TimeChart | undefined; pending: Array<[number, number]>; loaded: boolean; points: Point[] }

function intervalText(ms: number): string {
  return ms % (60 * MINUTE) === 0 ? rx('hours', { n: ms / (60 * MINUTE) }) : rx('minutes', { n: ms / MINUTE });
}

export class MetricCharts {
  private readonly charts = new Map<string, Entry>();
  private readonly note = h('p', { class: 'muted small-text', 'data-testid': 'device-range-note' });
  private readonly basis = h('p', { class: 'muted small-text', 'data-testid': 'device-chart-basis' });
  private range: TimeRange | undefined;
  /** The interval the charts show (0: raw points). */
  private everyMs = 0;
  private seq = 0;

  constructor(body: HTMLElement, metrics: readonly MetricSpec[], private readonly deviceId: string, private readonly scope: Scope) {
    const grid = h('div', { class: 'charts' });
    clear(body, this.note, grid, this.basis);
    for (const m of metrics) {
      const host = h('div', { class: 'chart' });
      const unit = unitLabel(m.unit);
      grid.append(h('figure', { class: 'metric-chart', 'data-chart': m.name }, h('figcaption', null, `${pick(m)}${unit ? ` (${unit})` : ''}`), host));
      this.charts.set(m.name, { spec: m, host, chart: undefined, pending: [], loaded: false, points: [] });
    }
    scope.add(() => { for (const c of this.charts.values()) c.chart?.destroy(); });
  }

  /** The charts over a range, drawn anew (a running range follows the live feed, a past one does not). */
  show(r: TimeRange): void {
    this.range = r;
    this.loadHistory();
  }

  /** A chart per metric: one line for raw points, mean with minimum and maximum for intervals. */
  private draw(everyMs: number): void {
    let i = 0;
    for (const c of this.charts.values()) {
      c.chart?.destroy();
      const unit = unitLabel(c.spec.unit);
      const color = COLORS.series[i++ % COLORS.series.length] ?? COLORS.blue;
      const stepped = c.spec.unit === 'code';
      const series = everyMs === 0
        ? [{ label: pick(c.spec), color, stepped }]
        : [{ label: `${pick(c.spec)} ${rx('meanLabel')}`, color, stepped }, { label: rx('minLabel'), color: `${color}66`, width: 1, stepped }, { label: rx('maxLabel'), color: `${color}66`, width: 1, stepped }];
      c.chart = new TimeChart(c.host, { unit: c.spec.unit, height: 160, ...(this.range?.preset === '1h' ? { windowSec: 3600 } : {}), ...(unit ? { yLabel: unit } : {}), series });
      c.host.dataset.every = String(everyMs);
    }
  }

  loadHistory(): void {
    const r = this.range;
    if (!r) return;
    const seq = ++this.seq;
    // The last hour slides with the clock; other ranges keep their start.
    const to = r.live ? Date.now() : r.to;
    const from = Math.max(r.preset === '1h' ? to - 3_600_000 : r.from, to - MAX_SPAN);
    const notes = [r.live ? tx('deviceLiveNote') : '', to - r.from > MAX_SPAN ? tx('deviceRangeTooLong') : ''];
    this.note.textContent = notes.filter(Boolean).join(' · ');
    // Live points from now on wait for the history, whatever it is drawn from.
    for (const c of this.charts.values()) { c.loaded = false; c.pending = []; }
    const every = chartInterval(to - from);
    void this.pickInterval(from, to, every).then((chosen) => {
      if (!this.scope.alive || seq !== this.seq) return;
      this.everyMs = chosen;
      this.draw(chosen);
      this.basis.textContent = chosen === 0 ? rx('chartRaw') : [rx('chartMeans', { every: intervalText(chosen) }), r.live ? rx('chartNoLive') : ''].filter(Boolean).join(' · ');
      if (chosen !== 0) this.note.textContent = notes[1] ?? '';
      for (const [name, c] of this.charts) this.loadMetric(seq, name, c, from, to);
    });
  }

  /**
   * The interval to draw: raw when the range is short, or when a long range's raw points fit a chart anyway (a
   * device that sends seldom); the first metric's raw points up to MAX_POINTS tell.
   */
  private async pickInterval(from: number, to: number, every: number): Promise<number> {
    const first = this.charts.keys().next().value;
    if (every === 0 || first === undefined) return every;
    try {
      const raw = await get<Series>(`/devices/${encodeURIComponent(this.deviceId)}/telemetry${qs({ metric: first, from, to, limit: MAX_POINTS })}`);
      return raw.points.length < MAX_POINTS ? 0 : every;
    } catch {
      return every;
    }
  }

  private loadMetric(seq: number, name: string, c: Entry, from: number, to: number): void {
    const every = this.everyMs;
    const query = every === 0 ? { metric: name, from, to, limit: LIMIT } : { metric: name, from, to, every: `${every / 1000}s`, limit: MAX_POINTS + 1 };
    get<Series>(`/devices/${encodeURIComponent(this.deviceId)}/telemetry${qs(query)}`).then((s) => {
      if (!this.scope.alive || seq !== this.seq) return;
      c.points = s.points;
      const xs = s.points.map((p) => p.ts / 1000);
      c.chart?.setData(xs, every === 0 ? [s.points.map((p) => p.value)] : [s.points.map((p) => p.value), s.points.map((p) => p.min ?? null), s.points.map((p) => p.max ?? null)]);
      c.loaded = true;
      for (const [x, v] of c.pending) {
        c.chart?.push(x, [v]);
        c.points.push({ ts: x * 1000, value: v });
      }
      c.pending = [];
      if (every === 0 && s.points.length >= LIMIT) this.note.textContent = tx('deviceTruncated', { n: LIMIT });
    }, () => { c.loaded = true; });
  }

  push(d: LiveDevice): void {
    if (!this.range?.live || this.everyMs !== 0) return;
    for (const [name, c] of this.charts) {
      const v = d.metrics[name];
      if (v === undefined) continue;
      if (c.loaded) {
        c.chart?.push(d.ts / 1000, [v]);
        c.points.push({ ts: d.ts, value: v });
      } else {
        c.pending.push([d.ts / 1000, v]);
      }
    }
  }

  /** Every chart's points, one row a point (for intervals: its start, mean, minimum and maximum), as a CSV file. */
  save(): void {
    const r = this.range;
    if (!r) return;
    const rows = [...this.charts].flatMap(([name, c]) => c.points.map((p) => [name, c.spec.unit, localDateTime(p.ts), p.ts, p.value, ...(this.everyMs ? [p.min ?? '', p.max ?? '', this.everyMs / 1000] : [])]));
    const head = ['metric', 'unit', 'time_local', 'ts_ms', 'value', ...(this.everyMs ? ['min', 'max', 'interval_s'] : [])];
    saveBlob(csvBlob(head, rows), `device_${fileNamePart(this.deviceId)}_${r.fromDate}_${r.toDate}.csv`);
  }
}
