// The telemetry-store port: where admitted line protocol ends up and where the analytics and the API read it
// back, by asking named questions (questions/). No query language crosses this port: InfluxQL lives only in the
// InfluxDB adapter (influx-store.ts, influx/), so another backend can stand behind it by passing the same
// conformance suites (test/conformance/telemetry-store*.ts).
import type { DirtyQuestions } from './questions/dirty.ts';
import type { EnergyQuestions } from './questions/energy.ts';
import type { MachineQuestions } from './questions/machines.ts';
export interface DeviceSeriesQuery {
  /** The firm is part of every device question: isolation holds in the data, not only in the registry. */
  firmId: string;
  deviceId: string;
  measurement: string;
  metric: string;
  from: number;
  to: number;
  limit: number;
}

export interface SeriesPoint {
  ts: number;
  value: number;
}

/** InfluxDB refused the data itself (HTTP 400: e.g. a field type conflict): retrying will not help. */
export class PermanentWriteError extends Error {
  override name = 'PermanentWriteError';
}

export interface TelemetryStore extends EnergyQuestions, MachineQuestions, DirtyQuestions {
  /** Creates the database when the server needs it (1.x); a no-op where it exists. */
  ensureDatabase(): Promise<void>;
  /**
   * Resolves when the server confirmed every line and the quarters they touched are marked dirty per firm
   * (questions/dirty.ts); rejects with PermanentWriteError or a transient error.
   */
  write(lines: readonly string[]): Promise<void>;
  /** One metric of one device of one firm over [from, to], oldest first. */
  deviceSeries(q: DeviceSeriesQuery): Promise<SeriesPoint[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
