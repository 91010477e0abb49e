// The device view's charts, one per metric that is not a counter: the last hour from the telemetry endpoint, then
// extended from the live feed without reload. Live points that arrive before the history are held and appended
// after it, so the chart never goes back in time.
import { get, qs } from '../../api.ts';
import { COLORS, TimeChart } from '../../charts.ts';
import type { Scope } from '../../components.ts';
import { clear, h } from '../../dom.ts';
import { unitLabel } from '../../format.ts';
import { pick } from '../../i18n.ts';
import type { LiveDevice, MetricSpec, TelemetrySeries } from '../../types.ts';

const HOUR = 3_600_000;

export class MetricCharts {
  private readonly charts = new Map<string, { chart: TimeChart; pending: Array<[number, number]>; loaded: boolean }>();

  constructor(body: HTMLElement, metrics: readonly MetricSpec[], private readonly deviceId: string, private readonly scope: Scope) {
    const grid = h('div', { class: 'charts' });
    clear(body, grid);
    metrics.forEach((m, i) => {
      const host = h('div', { class: 'chart' });
      const unit = unitLabel(m.unit);
      grid.append(h('figure', { class: 'metric-chart', 'data-chart': m.name }, h('figcaption', null, `${pick(m)}${unit ? ` (${unit})` : ''}`), host));
      const chart = scope.chart(new TimeChart(host, {
        unit: m.unit, height: 160, windowSec: 3600,
        series: [{ label: pick(m), color: COLORS.series[i % COLORS.series.length] ?? COLORS.blue, stepped: m.unit === 'code' }],
      }));
      this.charts.set(m.name, { chart, pending: [], loaded: false });
    });
  }

  loadHistory(): void {
    const to = Date.now();
    for (const [name, c] of this.charts) {
      c.loaded = false;
      get<TelemetrySeries>(`/devices/${encodeURIComponent(this.deviceId)}/telemetry${qs({ metric: name, from: to - HOUR, to })}`).then((s) => {
        if (!this.scope.alive) return;
        c.chart.setData(s.points.map((p) => p.ts / 1000), [s.points.map((p) => p.value)]);
        c.loaded = true;
        for (const [x, v] of c.pending) c.chart.push(x, [v]);
        c.pending = [];
      }, () => { c.loaded = true; });
    }
  }

  push(d: LiveDevice): void {
    for (const [name, c] of this.charts) {
      const v = d.metrics[name];
      if (v === undefined) continue;
      if (c.loaded) c.chart.push(d.ts / 1000, [v]);
      else c.pending.push([d.ts / 1000, v]);
    }
  }
}
