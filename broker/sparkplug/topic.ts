// Sparkplug B 3.0 topics: spBv1.0/{group id}/{message type}/{edge node id}[/{device id}], and the host's
// spBv1.0/STATE/{host id}. Here the group is the firm and the edge node a gateway of that firm.
export const SPARKPLUG_NAMESPACE = 'spBv1.0';
export const SPARKPLUG_PREFIX = `${SPARKPLUG_NAMESPACE}/`;

export const NODE_TYPES = ['NBIRTH', 'NDATA', 'NDEATH', 'NCMD'] as const;
export const DEVICE_TYPES = ['DBIRTH', 'DDATA', 'DDEATH', 'DCMD'] as const;
export type SparkplugMessageType = (typeof NODE_TYPES)[number] | (typeof DEVICE_TYPES)[number];

export interface SparkplugTopic {
  groupId: string;
  type: SparkplugMessageType;
  edgeNodeId: string;
  /** Only for the device message types. */
  deviceId?: string;
}

/** The topic's parts, or undefined when it is not a well-formed Sparkplug edge node or device topic. */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] !== SPARKPLUG_NAMESPACE || parts.some((p) => p.length === 0)) return undefined;
  const [, groupId, type, edgeNodeId, deviceId] = parts;
  if (groupId === undefined || type === undefined || edgeNodeId === undefined) return undefined;
  if (parts.length === 4 && (NODE_TYPES as readonly string[]).includes(type)) return { groupId, type: type as SparkplugMessageType, edgeNodeId };
  if (parts.length === 5 && deviceId !== undefined && (DEVICE_TYPES as readonly string[]).includes(type)) return { groupId, type: type as SparkplugMessageType, edgeNodeId, deviceId };
  return undefined;
}

export const stateTopic = (hostId: string): string => `${SPARKPLUG_NAMESPACE}/STATE/${hostId}`;
export const ncmdTopic = (groupId: string, edgeNodeId: string): string => `${SPARKPLUG_NAMESPACE}/${groupId}/NCMD/${edgeNodeId}`;

/**
 * What an edge node may subscribe to: the commands addressed to it and its devices (NCMD, DCMD, also with the
 * `/#` or `/+` the libraries use) and the host's STATE.
 */
export function edgeNodeMaySubscribe(topic: string, groupId: string, edgeNodeId: string, hostId: string): boolean {
  if (topic === stateTopic(hostId)) return true;
  for (const type of ['NCMD', 'DCMD']) {
    const base = `${SPARKPLUG_NAMESPACE}/${groupId}/${type}/${edgeNodeId}`;
    if (topic === base || topic === `${base}/#` || topic === `${base}/+`) return true;
  }
  return false;
}
