// The broker's per-second live summary ($dh/live): the latest values of each device that changed in that second.
// Admission writes it; the API forwards it to browsers and aggregates it per room. Never every message.
export interface LiveDevice {
  deviceId: string;
  firmId: string;
  county: string;
  park: string;
  segment: string;
  type: string;
  ts: number;
  metrics: Record<string, number>;
  state?: string;
  /** Time of the state event (the device's clock), so the newest state wins wherever states meet. */
  stateTs?: number;
}

export interface LiveSummary {
  at: number;
  devices: LiveDevice[];
}
