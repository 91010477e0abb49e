// The plan store: values bureau staff enter (with who entered them and when, every entry kept), firms' yearly
// output value and tax for per-mu evaluation, and monthly snapshots of the computed KPIs for their trend.
import type { Db } from '../../common/sqlite.ts';
import type { Actor, Settings } from '../base/db.ts';

export interface PlanEntry {
  id: number;
  targetId: string;
  year: number;
  value: number;
  note: string;
  enteredBy: string;
  enteredByToken: string;
  enteredAt: number;
}

export interface FirmFigures {
  firmId: string;
  year: number;
  /** 产值, yuan. */
  outputValueYuan: number | null;
  /** 税收, yuan. */
  taxYuan: number | null;
  enteredBy: string;
  enteredAt: number;
}

export interface Snapshot {
  month: string;
  metric: string;
  value: number;
  detail: Record<string, number>;
  takenAt: number;
}

/** 亩均论英雄 indicator weights (normalised to a sum of 1 when used). */
export interface PerMuWeights {
  taxPerMu: number;
  outputPerMu: number;
  outputPerEmployee: number;
  outputPerTce: number;
}

export const DEFAULT_PER_MU_WEIGHTS: PerMuWeights = { taxPerMu: 0.4, outputPerMu: 0.3, outputPerEmployee: 0.2, outputPerTce: 0.1 };

interface EntryRow { id: number; target_id: string; year: number; value: number; note: string; entered_by: string; entered_by_token: string; entered_at: number }
interface FiguresRow { firm_id: string; year: number; output_value_yuan: number | null; tax_yuan: number | null; entered_by: string; entered_at: number }
interface SnapshotRow { month: string; metric: string; value: number; detail: string; taken_at: number }

const entryFrom = (r: EntryRow): PlanEntry => ({ id: r.id, targetId: r.target_id, year: r.year, value: r.value, note: r.note, enteredBy: r.entered_by, enteredByToken: r.entered_by_token, enteredAt: r.entered_at });
const figuresFrom = (r: FiguresRow): FirmFigures => ({ firmId: r.firm_id, year: r.year, outputValueYuan: r.output_value_yuan, taxYuan: r.tax_yuan, enteredBy: r.entered_by, enteredAt: r.entered_at });
const snapshotFrom = (r: SnapshotRow): Snapshot => ({ month: r.month, metric: r.metric, value: r.value, detail: JSON.parse(r.detail) as Record<string, number>, takenAt: r.taken_at });

const WEIGHTS_KEY = 'plan.perMuWeights';
/** Official counts are plan entries of one target per county: who and when kept, every entry kept. */
const OFFICIAL_PREFIX = 'official-above-scale:';

/** The statistics bureau's count of above-scale firms in a county for a year, as entered. */
export interface OfficialCount extends PlanEntry {
  county: string;
}
const officialFrom = (e: PlanEntry): OfficialCount => ({ ...e, county: e.targetId.slice(OFFICIAL_PREFIX.length) });

export class PlanStore {
  private readonly s;

  constructor(db: Db, private readonly settings: Settings) {
    this.s = {
      insertEntry: db.prepare('INSERT INTO plan_entries (target_id, year, value, note, entered_by, entered_by_token, entered_at) VALUES (@targetId, @year, @value, @note, @by, @token, @at)'),
      entry: db.prepare<[number], EntryRow>('SELECT * FROM plan_entries WHERE id = ?'),
      history: db.prepare<[string], EntryRow>('SELECT * FROM plan_entries WHERE target_id = ? ORDER BY id DESC'),
      latestForYear: db.prepare<[string, number], EntryRow>('SELECT * FROM plan_entries WHERE target_id = ? AND year = ? ORDER BY id DESC LIMIT 1'),
      latest: db.prepare<[string], EntryRow>('SELECT * FROM plan_entries WHERE target_id = ? ORDER BY year DESC, id DESC LIMIT 1'),
      putFigures: db.prepare(`INSERT INTO firm_figures (firm_id, year, output_value_yuan, tax_yuan, entered_by, entered_by_token, entered_at) VALUES (@firmId, @year, @output, @tax, @by, @token, @at)
        ON CONFLICT(firm_id, year) DO UPDATE SET output_value_yuan = excluded.output_value_yuan, tax_yuan = excluded.tax_yuan, entered_by = excluded.entered_by, entered_by_token = excluded.entered_by_token, entered_at = excluded.entered_at`),
      firmFigures: db.prepare<[string], FiguresRow>('SELECT * FROM firm_figures WHERE firm_id = ? ORDER BY year'),
      yearFigures: db.prepare<[number], FiguresRow>('SELECT * FROM firm_figures WHERE year = ?'),
      officialYear: db.prepare<[string, number], EntryRow>(`SELECT * FROM plan_entries WHERE target_id LIKE ? AND year = ? ORDER BY id`),
      officialAll: db.prepare<[string], EntryRow>(`SELECT * FROM plan_entries WHERE target_id LIKE ? ORDER BY id DESC`),
      latestFiguresYear: db.prepare<[], { year: number | null }>('SELECT max(year) AS year FROM firm_figures'),
      putSnapshot: db.prepare(`INSERT INTO plan_snapshots (month, metric, value, detail, taken_at) VALUES (@month, @metric, @value, @detail, @at)
        ON CONFLICT(month, metric) DO UPDATE SET value = excluded.value, detail = excluded.detail, taken_at = excluded.taken_at`),
      snapshots: db.prepare<[string], SnapshotRow>('SELECT * FROM plan_snapshots WHERE metric = ? ORDER BY month'),
      snapshotAtOrBefore: db.prepare<[string, string], SnapshotRow>('SELECT * FROM plan_snapshots WHERE metric = ? AND month <= ? ORDER BY month DESC LIMIT 1'),
    };
  }

  enter(targetId: string, year: number, value: number, note: string, actor: Actor): PlanEntry {
    const info = this.s.insertEntry.run({ targetId, year, value, note, by: actor.name, token: actor.tokenId, at: Date.now() });
    return entryFrom(this.s.entry.get(Number(info.lastInsertRowid)) as EntryRow);
  }

  history(targetId: string): PlanEntry[] {
    return this.s.history.all(targetId).map(entryFrom);
  }

  /** The newest entry for a year, or (year undefined) the newest entry of the latest year. */
  latest(targetId: string, year?: number): PlanEntry | undefined {
    const r = year === undefined ? this.s.latest.get(targetId) : this.s.latestForYear.get(targetId, year);
    return r ? entryFrom(r) : undefined;
  }

  enterOfficialCount(county: string, year: number, count: number, note: string, actor: Actor): OfficialCount {
    return officialFrom(this.enter(`${OFFICIAL_PREFIX}${county}`, year, count, note, actor));
  }

  /** The newest official count of each county for a year (counties without one are absent). */
  officialCounts(year: number): Map<string, OfficialCount> {
    return new Map(this.s.officialYear.all(`${OFFICIAL_PREFIX}%`, year).map((r) => officialFrom(entryFrom(r))).map((c) => [c.county, c]));
  }

  /** Every official count entered, newest first. */
  officialCountHistory(): OfficialCount[] {
    return this.s.officialAll.all(`${OFFICIAL_PREFIX}%`).map((r) => officialFrom(entryFrom(r)));
  }

  setFigures(firmId: string, year: number, outputValueYuan: number | null, taxYuan: number | null, actor: Actor): FirmFigures {
    this.s.putFigures.run({ firmId, year, output: outputValueYuan, tax: taxYuan, by: actor.name, token: actor.tokenId, at: Date.now() });
    return this.firmFigures(firmId).find((f) => f.year === year) as FirmFigures;
  }

  firmFigures(firmId: string): FirmFigures[] {
    return this.s.firmFigures.all(firmId).map(figuresFrom);
  }

  yearFigures(year: number): Map<string, FirmFigures> {
    return new Map(this.s.yearFigures.all(year).map((r) => [r.firm_id, figuresFrom(r)]));
  }

  latestFiguresYear(): number | undefined {
    return this.s.latestFiguresYear.get()?.year ?? undefined;
  }

  putSnapshot(month: string, metric: string, value: number, detail: Record<string, number>, at = Date.now()): void {
    this.s.putSnapshot.run({ month, metric, value, detail: JSON.stringify(detail), at });
  }

  snapshots(metric: string): Snapshot[] {
    return this.s.snapshots.all(metric).map(snapshotFrom);
  }

  snapshotAtOrBefore(metric: string, month: string): Snapshot | undefined {
    const r = this.s.snapshotAtOrBefore.get(metric, month);
    return r ? snapshotFrom(r) : undefined;
  }

  weights(): { value: PerMuWeights; updatedBy: string | null; updatedAt: number | null } {
    const r = this.settings.get<PerMuWeights>(WEIGHTS_KEY, DEFAULT_PER_MU_WEIGHTS);
    return { ...r, value: { ...DEFAULT_PER_MU_WEIGHTS, ...r.value } };
  }

  setWeights(w: PerMuWeights, actor: Actor): void {
    const values = Object.values(w);
    if (values.some((v) => !(Number.isFinite(v) && v >= 0)) || values.reduce((s, v) => s + v, 0) <= 0) throw new RangeError('weights must be non-negative numbers with a positive sum');
    this.settings.put(WEIGHTS_KEY, w, actor);
  }
}
