// OPC 40001-1 (OPC UA for Machinery) to the contract's machine states, as docs/domain.md ("Machine states") maps
// them: MachineryItemState and MachineryOperationMode, each read as the CurrentState text or its state number.
import type { MachineState } from '../common/contract/catalogue.ts';

export const ITEM_STATES = ['NotAvailable', 'OutOfService', 'NotExecuting', 'Executing'] as const;
export const OPERATION_MODES = ['None', 'Maintenance', 'Setup', 'Processing'] as const;
export type ItemState = (typeof ITEM_STATES)[number];
export type OperationMode = (typeof OPERATION_MODES)[number];

/** A state number (0..3 in the order of the companion spec) or a CurrentState text such as "Executing". */
function named<T extends string>(value: unknown, names: readonly T[]): T | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return names[value];
  if (typeof value === 'bigint') return names[Number(value)];
  const text = typeof value === 'string' ? value : (value as { text?: unknown } | null)?.text;
  if (typeof text !== 'string') return undefined;
  const t = text.replace(/\s+/g, '').toLowerCase();
  return names.find((n) => n.toLowerCase() === t);
}

export function itemState(value: unknown): ItemState | undefined {
  return named(value, ITEM_STATES);
}

export function operationMode(value: unknown): OperationMode | undefined {
  return named(value, OPERATION_MODES);
}

/**
 * The contract state. A machine out of service is in a fault unless it is in maintenance mode (then the downtime
 * is scheduled); setup mode is setup whether or not the machine is moving (trial runs are engineering time).
 */
export function machineState(item: ItemState, mode: OperationMode | undefined): MachineState {
  if (item === 'NotAvailable') return 'stopped';
  if (mode === 'Maintenance') return 'maintenance';
  if (item === 'OutOfService') return 'fault';
  if (mode === 'Setup') return 'setup';
  return item === 'Executing' ? 'running' : 'idle';
}
