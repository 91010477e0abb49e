// The layout of DATA_DIR: every file and folder the services and `npm start` keep there is named here once.
// What lies inside influxdb/ and tls/ belongs to their owners (scripts/influxd.ts, scripts/tls.ts).
import path from 'node:path';

export interface DataDirLayout {
  root: string;
  /** SQLite registry: firms, devices, tokens, audit (unless REGISTRY_URL names PostgreSQL). */
  registry: string;
  /** SQLite spool between admission and the ingest writer, with dead letters and the status board. */
  spool: string;
  /** SQLite of the monitoring features (unless MONITORING_DB says otherwise). */
  monitoring: string;
  /** The private influxd `npm start` runs without INFLUX_URL. */
  influxdb: string;
  /** Development CA and certificate of TLS_SELF_SIGNED=1. */
  tls: string;
  /** One log file per service started by `npm start`. */
  logs: string;
  /** The generated admin API token (when ADMIN_TOKEN is unset). */
  adminToken: string;
  /** Password of the internal service users (API, tests) at the broker. */
  serviceSecret: string;
  /** Device credentials of the simulator fleet of `npm start`, reused across restarts. */
  simulatorCredentials: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  const at = (name: string) => path.join(root, name);
  return {
    root,
    registry: at('registry.db'),
    spool: at('spool.db'),
    monitoring: at('monitoring.db'),
    influxdb: at('influxdb'),
    tls: at('tls'),
    logs: at('logs'),
    adminToken: at('admin-token'),
    serviceSecret: at('service-secret'),
    simulatorCredentials: at('simulator-credentials.json'),
  };
}
