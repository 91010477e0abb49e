// The telemetry-store port: where admitted line protocol ends up and where the API reads it back.
// One conformance suite (test/conformance/telemetry-store.ts) for every adapter.
import type { EnergyQuestions } from './questions/energy.ts';
import type { MachineQuestions } from './questions/machines.ts';
export interface SeriesPoint {
  ts: number;
  value: number;
}

export interface QueryResultSeries {
  name: string;
  tags: Record<string, string>;
  columns: string[];
  values: Array<Array<string | number | boolean | null>>;
}

/** InfluxDB refused the data itself (HTTP 400: e.g. a field type conflict): retrying will not help. */
export class PermanentWriteError extends Error {
  override name = 'PermanentWriteError';
}

export interface TelemetryStore extends EnergyQuestions, MachineQuestions {
  /** Creates the database when the server needs it (1.x); a no-op where it exists. */
  ensureDatabase(): Promise<void>;
  /** Resolves when the server confirmed every line; rejects with PermanentWriteError or a transient error. */
  write(lines: readonly string[]): Promise<void>;
  /** One metric of one device over [from, to], oldest first. */
  deviceSeries(measurement: string, deviceId: string, metric: string, from: number, to: number, limit: number): Promise<SeriesPoint[]>;
  /** A read-only InfluxQL query (SELECT/SHOW). */
  query(influxql: string): Promise<QueryResultSeries[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

// The InfluxQL helpers live in the adapter; re-exported here until the analytics stop writing queries.
export { ident, literal } from './influx/influxql.ts';
