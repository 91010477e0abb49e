// What a figure is about: the prefecture, a county, a park, a segment, a firm or a device. Every stored point
// carries the county, park, segment, firm and device tags, so a scope is also a filter the telemetry store
// understands.
export const SCOPE_KINDS = ['prefecture', 'county', 'park', 'segment', 'firm', 'device'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

export interface Scope {
  kind: ScopeKind;
  /** County code, park id, segment id, firm id or device id; '' for the prefecture. */
  id: string;
}

/** The tag of a stored point that a scope kind selects on. */
export const SCOPE_TAG: Record<Exclude<ScopeKind, 'prefecture'>, string> = {
  county: 'county', park: 'park', segment: 'segment', firm: 'firm', device: 'device',
};
