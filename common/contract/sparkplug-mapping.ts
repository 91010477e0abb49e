// How a Sparkplug B metric name becomes a catalogue metric: shared by the broker (which translates Sparkplug
// messages into contract messages) and the API (which validates a firm engineer's mappings before storing them).
// Without configuration a metric maps when its name is a catalogue metric id of the device type, or ends with
// `/<metric id>` (Sparkplug folders such as `Loom/speed_rpm`); a gateway's mapping per device type overrides that.
import { deviceType, metricSpec } from './catalogue.ts';
import type { Problem } from './messages.ts';

/** Per device type: Sparkplug metric name → catalogue metric id (or STATE_TARGET, or IGNORE_TARGET). */
export type SparkplugMappingTable = Record<string, Record<string, string>>;

/** Target of a metric that carries the machine state (a string of MACHINE_STATES): it becomes a state message. */
export const STATE_TARGET = 'state';
/** Target of a metric the platform does not keep (a PLC's diagnostics, say): dropped without a rejection. */
export const IGNORE_TARGET = '-';
/** Where an engineer sets the mappings (named in every "not mapped" problem). */
export const MAPPINGS_ROUTE = 'PUT /api/v1/gateways/{gatewayId}/sparkplug-mappings';
/** Longest Sparkplug metric name a mapping may name. */
export const MAX_SPARKPLUG_NAME = 256;

export type MetricTarget = { kind: 'metric'; metric: string } | { kind: 'state' } | { kind: 'ignore' };

function targetOf(type: string, id: string): MetricTarget | undefined {
  if (id === STATE_TARGET) return { kind: 'state' };
  if (id === IGNORE_TARGET) return { kind: 'ignore' };
  return metricSpec(type, id) ? { kind: 'metric', metric: id } : undefined;
}

/** Where a device type's Sparkplug metric goes: the mapping first, then the default by name; undefined = unmapped. */
export function resolveMetric(type: string, name: string, mappings: SparkplugMappingTable): MetricTarget | undefined {
  const mapped = mappings[type]?.[name];
  if (mapped !== undefined) return targetOf(type, mapped);
  const tail = name.slice(name.lastIndexOf('/') + 1);
  return tail === STATE_TARGET || tail === IGNORE_TARGET ? undefined : targetOf(type, tail);
}

/** Why a metric has no target, in words an engineer can act on. */
export function unmappedMessage(type: string, name: string, gatewayId: string): string {
  const ids = deviceType(type)?.metrics.map((m) => m.name).join(', ') ?? '';
  return `Sparkplug metric "${name}" of device type ${type} is not mapped to a catalogue metric: name it after one (${ids}), `
    + `or map it with ${MAPPINGS_ROUTE.replace('{gatewayId}', gatewayId)}, e.g. {"${type}": {"${name}": "<metric id>"}} `
    + `("${STATE_TARGET}" for the machine state, "${IGNORE_TARGET}" to drop it)`;
}

/** Every bad entry of a mapping table (unknown device type, unknown metric id, bad name), each named by its path. */
export function checkMappings(mappings: SparkplugMappingTable): Problem[] {
  const problems: Problem[] = [];
  for (const [type, table] of Object.entries(mappings)) {
    const spec = deviceType(type);
    if (!spec) {
      problems.push({ field: type, rule: 'device-type', message: `"${type}" is not a device type of the catalogue (GET /api/v1/catalogue)` });
      continue;
    }
    for (const [name, target] of Object.entries(table)) {
      const field = `${type}["${name}"]`;
      if (name.length === 0 || name.length > MAX_SPARKPLUG_NAME) {
        problems.push({ field, rule: 'name', message: `${field}: a Sparkplug metric name has 1 to ${MAX_SPARKPLUG_NAME} characters` });
      } else if (!targetOf(type, target)) {
        const ids = spec.metrics.map((m) => m.name).join(', ');
        problems.push({ field, rule: 'metric', message: `${field} maps to "${target}", which is not a metric of device type ${type} (${ids}), "${STATE_TARGET}" or "${IGNORE_TARGET}"` });
      }
    }
  }
  return problems;
}
