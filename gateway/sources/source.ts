// What the sampler asks of a machine, whatever its protocol: one sample of the mapped metrics (already scaled)
// and, where the machine reports one, its machine state.
import type { MachineState } from '../../common/contract/catalogue.ts';

export interface Sample {
  metrics: Record<string, number>;
  state?: MachineState;
}

export interface Source {
  /** Starts connecting; reconnection after a loss is the source's own business. */
  start(): void;
  /** One sample now; throws while the machine cannot be reached (no message is made then). */
  sample(): Promise<Sample>;
  close(): Promise<void>;
}

/** A numeric reading from a protocol value: numbers, booleans (1/0) and 64-bit integers as [high, low] words. */
export function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) return (value[0] as number) * 2 ** 32 + (value[1] as number);
  return undefined;
}

/** raw × scale without binary noise (950 × 0.001 is 0.95, not 0.9500000000000001): 15 significant digits. */
export function scaled(raw: number, scale: number): number {
  return scale === 1 ? raw : Number((raw * scale).toPrecision(15));
}
