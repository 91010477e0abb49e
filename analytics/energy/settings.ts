// Energy settings people enter through the API: the conversion factors (per basis, 等价值 per year) and which
// firms run gas+electricity cogeneration. Kept in the monitoring database with who changed them and when.
import type { Db } from '../../common/sqlite.ts';
import type { Actor, Settings } from '../base/db.ts';
import type { FirmEnergyFlags } from './carriers.ts';
import { DEFAULT_FACTORS, factorProblem, type EnergyFactorConfig } from './factors.ts';

const FACTORS_KEY = 'energy.factors';

export interface FirmEnergySettings extends FirmEnergyFlags {
  firmId: string;
  note: string;
  updatedBy: string | null;
  updatedAt: number | null;
}

export class EnergySettings {
  private readonly getFirm;
  private readonly putFirm;
  private readonly allFirms;
  /** Cached: read on every energy query. */
  private flags: Map<string, FirmEnergyFlags> | undefined;

  constructor(db: Db, private readonly settings: Settings, private readonly defaults: EnergyFactorConfig = DEFAULT_FACTORS) {
    this.getFirm = db.prepare<[string], { firm_id: string; cogeneration: number; note: string; updated_by: string; updated_at: number }>('SELECT * FROM firm_energy WHERE firm_id = ?');
    this.putFirm = db.prepare(`INSERT INTO firm_energy (firm_id, cogeneration, note, updated_by, updated_by_token, updated_at) VALUES (@firmId, @cogeneration, @note, @by, @token, @at)
      ON CONFLICT(firm_id) DO UPDATE SET cogeneration = excluded.cogeneration, note = excluded.note, updated_by = excluded.updated_by, updated_by_token = excluded.updated_by_token, updated_at = excluded.updated_at`);
    this.allFirms = db.prepare<[], { firm_id: string; cogeneration: number }>('SELECT firm_id, cogeneration FROM firm_energy');
  }

  factors(): { value: EnergyFactorConfig; updatedBy: string | null; updatedAt: number | null } {
    const r = this.settings.get<Partial<EnergyFactorConfig>>(FACTORS_KEY, {});
    // Stored values over the defaults, so a factor added to the code later still has a value.
    const v = r.value;
    const value: EnergyFactorConfig = {
      electricity: { ...this.defaults.electricity, ...(v.electricity ?? {}), primaryByYear: { ...this.defaults.electricity.primaryByYear, ...(v.electricity?.primaryByYear ?? {}) } },
      gas: v.gas ?? this.defaults.gas,
      steam: { ...this.defaults.steam, ...(v.steam ?? {}) },
      water: v.water ?? this.defaults.water,
      includeWater: v.includeWater ?? this.defaults.includeWater,
    };
    return { value, updatedBy: r.updatedBy, updatedAt: r.updatedAt };
  }

  /** Replaces the factor configuration; throws with a readable reason when a factor is unusable. */
  setFactors(cfg: EnergyFactorConfig, actor: Actor): void {
    const problem = factorProblem(cfg);
    if (problem) throw new RangeError(problem);
    this.settings.put(FACTORS_KEY, cfg, actor);
  }

  firm(firmId: string): FirmEnergySettings {
    const r = this.getFirm.get(firmId);
    return r
      ? { firmId, cogeneration: r.cogeneration === 1, note: r.note, updatedBy: r.updated_by, updatedAt: r.updated_at }
      : { firmId, cogeneration: false, note: '', updatedBy: null, updatedAt: null };
  }

  setFirm(firmId: string, flags: FirmEnergyFlags & { note?: string }, actor: Actor): FirmEnergySettings {
    this.putFirm.run({ firmId, cogeneration: flags.cogeneration ? 1 : 0, note: flags.note ?? '', by: actor.name, token: actor.tokenId, at: Date.now() });
    this.flags = undefined;
    return this.firm(firmId);
  }

  flagsOf(firmId: string): FirmEnergyFlags {
    if (!this.flags) this.flags = new Map(this.allFirms.all().map((r) => [r.firm_id, { cogeneration: r.cogeneration === 1 }]));
    return this.flags.get(firmId) ?? { cogeneration: false };
  }
}
