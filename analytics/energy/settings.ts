// Energy settings people enter through the API: the conversion factors (per basis, 等价值 per year) and where each
// firm's steam comes from (its plant-boundary rule). Kept in the monitoring database with who changed them and when.
import type { Db } from '../../common/sqlite.ts';
import type { Actor, Settings } from '../base/db.ts';
import { STEAM_SOURCE_LABEL, steamSourceOf, type FirmEnergyFlags, type SteamSource, type SteamSourceRule } from './carriers.ts';
import { DEFAULT_FACTORS, factorProblem, type EnergyFactorConfig } from './factors.ts';
import { localMonth, parseLocalMonth } from '../../common/time.ts';

const FACTORS_KEY = 'energy.factors';

export interface FirmEnergySettings extends FirmEnergyFlags {
  firmId: string;
  note: string;
  updatedBy: string | null;
  updatedAt: number | null;
}

/** A firm's settings with the rule it is counted with (as entered, or inferred from its meters). */
export interface FirmEnergyView extends FirmEnergySettings {
  rule: SteamSourceRule & { zh: string; en: string };
  /** The boolean flag this setting replaced: whether the firm is counted as cogeneration. */
  cogeneration: boolean;
}

/**
 * The steam source a settings request enters: `steamSource` (null: back to the inferred rule), or the replaced
 * boolean `cogeneration` (true: cogeneration; false: back to the inferred rule). Throws when neither or both disagree.
 */
export function enteredSteamSource(body: { steamSource?: SteamSource | null | undefined; cogeneration?: boolean | undefined }): SteamSource | null {
  const fromFlag = body.cogeneration === undefined ? undefined : body.cogeneration ? 'cogeneration' : null;
  if (body.steamSource === undefined && fromFlag === undefined) throw new RangeError('give steamSource: bought, own-boiler or cogeneration (null: inferred from the firm\'s meters)');
  if (body.steamSource !== undefined && fromFlag !== undefined && body.steamSource !== fromFlag) {
    throw new RangeError(`cogeneration: ${body.cogeneration} contradicts steamSource: ${body.steamSource}; give steamSource only`);
  }
  return body.steamSource !== undefined ? body.steamSource : (fromFlag ?? null);
}

/** Fabric output a firm reported for a local month, with who entered it and when. */
export interface MonthlyOutput {
  month: string;
  fabricM: number;
  note: string;
  enteredBy: string;
  enteredAt: number;
}

/** The local months ("YYYY-MM") that exactly make up [from, to), or undefined when it is not whole months. */
export function wholeLocalMonths(from: number, to: number): string[] | undefined {
  const months: string[] = [];
  for (let t = from; t < to;) {
    const m = parseLocalMonth(localMonth(t));
    if (!m || m.from !== t || m.to > to) return undefined;
    months.push(localMonth(t));
    t = m.to;
  }
  return months.length > 0 ? months : undefined;
}

type FirmRow = { firm_id: string; steam_source: SteamSource | null; note: string; updated_by: string; updated_at: number };

export class EnergySettings {
  private readonly getFirm;
  private readonly putFirm;
  private readonly allFirms;
  private readonly getOutputs;
  private readonly putOutput;
  /** Cached: read on every energy query. */
  private flags: Map<string, FirmEnergyFlags> | undefined;

  constructor(db: Db, private readonly settings: Settings, private readonly defaults: EnergyFactorConfig = DEFAULT_FACTORS) {
    this.getFirm = db.prepare<[string], FirmRow>('SELECT firm_id, steam_source, note, updated_by, updated_at FROM firm_energy WHERE firm_id = ?');
    this.putFirm = db.prepare(`INSERT INTO firm_energy (firm_id, steam_source, note, updated_by, updated_by_token, updated_at) VALUES (@firmId, @steamSource, @note, @by, @token, @at)
      ON CONFLICT(firm_id) DO UPDATE SET steam_source = excluded.steam_source, note = excluded.note, updated_by = excluded.updated_by, updated_by_token = excluded.updated_by_token, updated_at = excluded.updated_at`);
    this.allFirms = db.prepare<[], Pick<FirmRow, 'firm_id' | 'steam_source'>>('SELECT firm_id, steam_source FROM firm_energy');
    this.getOutputs = db.prepare<[string], { month: string; fabric_m: number; note: string; entered_by: string; entered_at: number }>('SELECT month, fabric_m, note, entered_by, entered_at FROM firm_output WHERE firm_id = ? ORDER BY month');
    this.putOutput = db.prepare(`INSERT INTO firm_output (firm_id, month, fabric_m, note, entered_by, entered_by_token, entered_at) VALUES (@firmId, @month, @fabricM, @note, @by, @token, @at)
      ON CONFLICT(firm_id, month) DO UPDATE SET fabric_m = excluded.fabric_m, note = excluded.note, entered_by = excluded.entered_by, entered_by_token = excluded.entered_by_token, entered_at = excluded.entered_at`);
  }

  /** Every month of fabric output the firm reported. */
  outputs(firmId: string): MonthlyOutput[] {
    return this.getOutputs.all(firmId).map((r) => ({ month: r.month, fabricM: r.fabric_m, note: r.note, enteredBy: r.entered_by, enteredAt: r.entered_at }));
  }

  /** Enters (or replaces) a month's fabric output; throws with a readable reason when it is unusable. */
  setOutput(firmId: string, month: string, fabricM: number, note: string, actor: Actor): MonthlyOutput[] {
    if (!parseLocalMonth(month)) throw new RangeError(`month must be YYYY-MM, got "${month}"`);
    if (!(Number.isFinite(fabricM) && fabricM >= 0 && fabricM <= 1e10)) throw new RangeError(`fabricM must be metres of fabric, 0 to 10¹⁰, got ${fabricM}`);
    this.putOutput.run({ firmId, month, fabricM, note, by: actor.name, token: actor.tokenId, at: Date.now() });
    return this.outputs(firmId);
  }

  /** The fabric a firm reported over whole months, or undefined when a month of them has no entry. */
  enteredFabric(firmId: string, months: readonly string[]): number | undefined {
    const byMonth = new Map(this.getOutputs.all(firmId).map((r) => [r.month, r.fabric_m]));
    let total = 0;
    for (const m of months) {
      const v = byMonth.get(m);
      if (v === undefined) return undefined;
      total += v;
    }
    return total;
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
      ? { firmId, steamSource: r.steam_source, note: r.note, updatedBy: r.updated_by, updatedAt: r.updated_at }
      : { firmId, steamSource: null, note: '', updatedBy: null, updatedAt: null };
  }

  /** The firm's settings and the rule it is counted with, given its registered devices. */
  view(firmId: string, devices: ReadonlyArray<{ type: string; name: string; location: string }> = []): FirmEnergyView {
    const s = this.firm(firmId);
    const rule = steamSourceOf(s, devices);
    return { ...s, rule: { ...rule, ...STEAM_SOURCE_LABEL[rule.source] }, cogeneration: rule.source === 'cogeneration' };
  }

  /** Sets (or, with null, clears back to the inferred rule) where a firm's steam comes from. */
  setFirm(firmId: string, flags: FirmEnergyFlags & { note?: string }, actor: Actor): FirmEnergySettings {
    this.putFirm.run({ firmId, steamSource: flags.steamSource, note: flags.note ?? '', by: actor.name, token: actor.tokenId, at: Date.now() });
    this.flags = undefined;
    return this.firm(firmId);
  }

  flagsOf(firmId: string): FirmEnergyFlags {
    if (!this.flags) this.flags = new Map(this.allFirms.all().map((r) => [r.firm_id, { steamSource: r.steam_source }]));
    return this.flags.get(firmId) ?? { steamSource: null };
  }
}
