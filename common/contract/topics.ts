// Topic layout of contract v1: dh/v1/{firmId}/{deviceId}/{kind}.
export const TOPIC_ROOT = 'dh/v1';
export const MESSAGE_KINDS = ['telemetry', 'state', 'status', 'errors'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
/** Kinds a device may publish; `errors` is written by the platform only. */
export const DEVICE_PUBLISH_KINDS: readonly MessageKind[] = ['telemetry', 'state', 'status'];
/** Internal topic the broker publishes per-second live summaries on (devices can never subscribe to `$` topics). */
export const LIVE_TOPIC = '$dh/live';
/** The API asks the broker to close a device's connection here (services only). */
export const CONTROL_TOPIC = '$dh/control';
/**
 * Where publishes that are not relayed are rewritten to: ack-and-dropped ones, and telemetry and states once
 * admission has stored them (nobody subscribes to them). Nobody may subscribe to it, and the broker does not
 * publish it at all (broker/publish.ts, skipUnrelayed).
 */
export const DROPPED_TOPIC = '$dh/dropped';

export const DEVICE_ID_PATTERN = '^[a-z0-9][a-z0-9_-]{2,63}$';

export interface ParsedTopic {
  firmId: string;
  deviceId: string;
  kind: MessageKind;
}

export function parseTopic(topic: string): ParsedTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== 'dh' || parts[1] !== 'v1') return undefined;
  const [, , firmId, deviceId, kind] = parts as [string, string, string, string, string];
  if (!(MESSAGE_KINDS as readonly string[]).includes(kind)) return undefined;
  return { firmId, deviceId, kind: kind as MessageKind };
}

export function topicFor(firmId: string, deviceId: string, kind: MessageKind): string {
  return `${TOPIC_ROOT}/${firmId}/${deviceId}/${kind}`;
}
