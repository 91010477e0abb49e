// The device view's charts, one per metric that is not a counter, over the picked range (the last hour by
// default) from the telemetry endpoint; a range still running is then extended from the live feed without reload.
// Live points that arrive before the history are held and appended after it, so the chart never goes back in
// time. The endpoint answers at most 31 days: a longer range shows its last 31 days and says so.
import { get, qs } from '../../api.ts';
import { COLORS, TimeChart } from '../../charts.ts';
import type { Scope } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { csvBlob, fileNamePart, saveBlob } from '../../download.ts';
import { unitLabel } from '../../format.ts';
import { pick } from '../../i18n.ts';
import { localDateTime, type TimeRange } from '../../range.ts';
import type { LiveDevice, MetricSpec, TelemetrySeries } from '../../types.ts';
import { tx } from '../history/texts.ts';

const MAX_SPAN = 31 * 86_400_000;
const LIMIT = 100_000;

interface Entry { spec: MetricSpec; host: HTMLElement; chart: TimeChart | undefined; pending: Array<[number, number]>; loaded: boolean; points: Array<{ ts: number; value: number }> }

export class MetricCharts {
  private readonly charts = new Map<string, Entry>();
  private readonly note = h('p', { class: 'muted small-text', 'data-testid': 'device-range-note' });
  private range: TimeRange | undefined;
  private seq = 0;

  constructor(body: HTMLElement, metrics: readonly MetricSpec[], private readonly deviceId: string, private readonly scope: Scope) {
    const grid = h('div', { class: 'charts' });
    clear(body, this.note, grid);
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
    let i = 0;
    for (const c of this.charts.values()) {
      c.chart?.destroy();
      const unit = unitLabel(c.spec.unit);
      c.chart = new TimeChart(c.host, {
        unit: c.spec.unit, height: 160, ...(r.preset === '1h' ? { windowSec: 3600 } : {}), ...(unit ? { yLabel: unit } : {}),
        series: [{ label: pick(c.spec), color: COLORS.series[i++ % COLORS.series.length] ?? COLORS.blue, stepped: c.spec.unit === 'code' }],
      });
    }
    this.loadHistory();
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
    for (const [name, c] of this.charts) {
      c.loaded = false;
      get<TelemetrySeries>(`/devices/${encodeURIComponent(this.deviceId)}/telemetry${qs({ metric: name, from, to, limit: LIMIT })}`).then((s) => {
        if (!this.scope.alive || seq !== this.seq) return;
        c.points = s.points;
        c.chart?.setData(s.points.map((p) => p.ts / 1000), [s.points.map((p) => p.value)]);
        c.loaded = true;
        for (const [x, v] of c.pending) {
          c.chart?.push(x, [v]);
          c.points.push({ ts: x * 1000, value: v });
        }
        c.pending = [];
        if (s.points.length >= LIMIT) this.note.textContent = tx('deviceTruncated', { n: LIMIT });
      }, () => { c.loaded = true; });
    }
  }

  push(d: LiveDevice): void {
    if (!this.range?.live) return;
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

  /** Every chart's points, one row a point, as a CSV file. */
  save(): void {
    const r = this.range;
    if (!r) return;
    const rows = [...this.charts].flatMap(([name, c]) => c.points.map((p) => [name, c.spec.unit, localDateTime(p.ts), p.ts, p.value]));
    saveBlob(csvBlob(['metric', 'unit', 'time_local', 'ts_ms', 'value'], rows), `device_${fileNamePart(this.deviceId)}_${r.fromDate}_${r.toDate}.csv`);
  }
}
