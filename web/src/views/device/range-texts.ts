// Texts of the device page over a picked range: the interval a chart's points stand for, the state strip and
// the time per state over the range.
import { texts } from '../../i18n.ts';

const zh = {
  chartRaw: '原始数据点',
  chartMeans: '每 {every}平均（浅色细线：区间最小值与最大值）',
  chartNoLive: '已降采样：不随实时数据更新',
  meanLabel: '平均',
  minLabel: '最小',
  maxLabel: '最大',
  stateRange: '所选时段的状态',
  stateTotals: '各状态累计时长',
  stateTruncated: '状态变化过多，只显示前 {n} 次',
  minutes: '{n} 分钟',
  hours: '{n} 小时',
};

const en: typeof zh = {
  chartRaw: 'raw points',
  chartMeans: '{every} means (pale thin lines: the interval’s minimum and maximum)',
  chartNoLive: 'downsampled: not updated live',
  meanLabel: 'mean',
  minLabel: 'min',
  maxLabel: 'max',
  stateRange: 'States over the picked range',
  stateTotals: 'Time per state',
  stateTruncated: 'Too many state changes: only the first {n} are shown',
  minutes: '{n}-min',
  hours: '{n}-h',
};

export const rx = texts({ zh, en });
