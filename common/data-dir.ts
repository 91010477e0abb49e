// The layout of DATA_DIR: every file and folder the services and `npm start` keep there is named here once.
// What lies inside influxdb/ and tls/ belongs to their owners (scripts/influxd.ts, scripts/tls.ts).
//
// DATA_DIR holds tokens, secrets, keys and every firm's data: its folders are created 0700 and its files 0600,
// whatever the umask (a default umask of 022 left them world-readable).
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

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
  /** The first admin user's one-time password, until they set their own. */
  adminPassword: string;
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
    adminPassword: at('admin-password'),
    serviceSecret: at('service-secret'),
    simulatorCredentials: at('simulator-credentials.json'),
  };
}

/** Creates a folder of the data directory (and missing parents) 0700; an existing one of ours is narrowed to 0700. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  narrowMode(dir, PRIVATE_DIR_MODE);
}

/** Creates an empty file 0600 unless it exists; an existing one of ours is narrowed to 0600. */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
  narrowMode(file, PRIVATE_FILE_MODE);
}

/**
 * Takes away what `mode` does not grant, when the path exists and belongs to this user (made by an older version
 * or under another umask). A missing path, or one of another user, is left alone.
 */
export function narrowMode(p: string, mode: number): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((st.mode & 0o777 & ~mode) === 0 || st.uid !== process.getuid?.()) return;
  fs.chmodSync(p, st.mode & 0o777 & mode);
}
