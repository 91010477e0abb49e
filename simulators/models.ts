// Machine models with plausible behaviour from docs/domain.md (machine ranges), one family per file in models/.
// Every value they emit is inside the catalogue's range (the same catalogue admission validates against); counters
// only go up; energy follows the machine's state (a stopped loom draws little). Deterministic: every random draw
// comes from the Rng the model was made with, so the same seed and the same sequence of steps give the same readings.
import type { MachineModel, ModelOptions } from './models/machine.ts';
import type { Rng } from './models/random.ts';
import { DyeingMachineModel } from './models/dyeing.ts';
import { LoomModel } from './models/looms.ts';
import { ElectricityMeterModel, METERS, MeterModel } from './models/meters.ts';
import { SewingLineModel } from './models/sewing.ts';
import { SilkReelingModel } from './models/silk.ts';
import { SockKnitterModel } from './models/socks.ts';
import { RotorSpinningModel, SpinningFrameModel } from './models/spinning.ts';
import { StenterModel } from './models/stenter.ts';

export { between, seededRng, seedFrom, type Rng } from './models/random.ts';
export { MachineBase, type Episode, type MachineModel, type ModelOptions, type Reading, type StateChange } from './models/machine.ts';
export { LoomModel, type LoomKind } from './models/looms.ts';
export { DyeingMachineModel } from './models/dyeing.ts';
export { RotorSpinningModel, SpinningFrameModel } from './models/spinning.ts';
export { StenterModel } from './models/stenter.ts';
export { SewingLineModel } from './models/sewing.ts';
export { SockKnitterModel } from './models/socks.ts';
export { SilkReelingModel } from './models/silk.ts';
export { ElectricityMeterModel, MeterModel } from './models/meters.ts';

type Factory = (rng: Rng, opts: ModelOptions) => MachineModel;

const MODELS: Record<string, Factory> = {
  loom: (rng, o) => new LoomModel(rng, o, 'loom'),
  rapier_loom: (rng, o) => new LoomModel(rng, o, 'rapier_loom'),
  water_jet_loom: (rng, o) => new LoomModel(rng, o, 'water_jet_loom'),
  dyeing_machine: (rng, o) => new DyeingMachineModel(rng, o),
  spinning_frame: (rng, o) => new SpinningFrameModel(rng, o),
  rotor_spinning: (rng, o) => new RotorSpinningModel(rng, o),
  stenter: (rng, o) => new StenterModel(rng, o),
  sewing_line: (rng, o) => new SewingLineModel(rng, o),
  sock_knitter: (rng, o) => new SockKnitterModel(rng, o),
  silk_reeling: (rng, o) => new SilkReelingModel(rng, o),
  electricity_meter: (rng, o) => new ElectricityMeterModel(rng, o),
  gas_meter: (rng, o) => new MeterModel(rng, o, METERS.gas_meter),
  steam_meter: (rng, o) => new MeterModel(rng, o, METERS.steam_meter),
  water_meter: (rng, o) => new MeterModel(rng, o, METERS.water_meter),
};

export const simulatedTypes = Object.keys(MODELS);

/** Types that report machine states (meters only report flows and registers). */
export const machineTypes = simulatedTypes.filter((t) => !(t in METERS));

export function createModel(type: string, rng: Rng, opts: ModelOptions = {}): MachineModel {
  const make = MODELS[type];
  if (!make) throw new Error(`no simulator model for device type "${type}"; available: ${simulatedTypes.join(', ')}`);
  return make(rng, opts);
}
