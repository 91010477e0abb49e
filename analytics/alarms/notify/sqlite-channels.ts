// Notification channels and deliveries in the node's monitoring database (SQLite).
import type { Db } from '../../../common/sqlite.ts';
import { AsyncEditedTable } from '../crud.ts';
import {
  CHANNEL_COLUMNS, CHANNEL_SQL, channelFrom, deliveryFrom,
  type Channel, type ChannelInput, type ChannelRow, type ChannelStore, type Delivery, type DeliveryRow, type DeliveryStatus, type NewDelivery,
} from './channels.ts';

/** The shared statements number their placeholders in order, each used once: SQLite's plain ? does. */
const numbered = (sql: string) => sql.replace(/\$\d+/g, '?');

export class SqliteChannelStore extends AsyncEditedTable<ChannelRow, Channel, ChannelInput> implements ChannelStore {
  private readonly s;

  constructor(db: Db) {
    super(db, 'alarm_channels', CHANNEL_COLUMNS, channelFrom, (c) => ({
      name: c.name, kind: c.kind, url: c.url, secret: c.secret, firmId: c.firmId, minSeverity: c.minSeverity, quietFrom: c.quietFrom, quietTo: c.quietTo,
      maxPerHour: c.maxPerHour, dedupMinutes: c.dedupMinutes, notifyCleared: c.notifyCleared ? 1 : 0, lang: c.lang, enabled: c.enabled ? 1 : 0,
    }));
    this.s = {
      claim: db.prepare(`INSERT OR IGNORE INTO alarm_deliveries (channel_id, alarm_id, event, rule_id, device_id, status, attempts, why, created_at)
        VALUES (@channelId, @alarmId, @event, @ruleId, @deviceId, @status, 0, @why, @at)`),
      finish: db.prepare('UPDATE alarm_deliveries SET status = @status, attempts = @attempts, why = @why, finished_at = @at WHERE id = @id'),
      attempt: db.prepare('UPDATE alarm_deliveries SET attempts = @attempts, why = @why WHERE id = @id'),
      sentSince: db.prepare<[number, number], { n: number }>(numbered(CHANNEL_SQL.sentSince)),
      raisedSince: db.prepare<[number, number, string, number, number], { n: number }>(numbered(CHANNEL_SQL.raisedSince)),
      deliveries: db.prepare<[number, number], DeliveryRow>('SELECT * FROM alarm_deliveries WHERE channel_id = ? ORDER BY id DESC LIMIT ?'),
      delivery: db.prepare<[number], DeliveryRow>('SELECT * FROM alarm_deliveries WHERE id = ?'),
    };
  }

  async claim(d: NewDelivery, at = Date.now()): Promise<Delivery | undefined> {
    const info = this.s.claim.run({ ...d, at });
    if (info.changes === 0) return undefined;
    return deliveryFrom(this.s.delivery.get(Number(info.lastInsertRowid)) as DeliveryRow);
  }

  async attempted(id: number, attempts: number, why: string | null): Promise<void> {
    this.s.attempt.run({ id, attempts, why });
  }

  async finish(id: number, status: DeliveryStatus, attempts: number, why: string | null, at = Date.now()): Promise<void> {
    this.s.finish.run({ id, status, attempts, why, at });
  }

  async sentSince(channelId: number, since: number): Promise<number> {
    return this.s.sentSince.get(channelId, since)?.n ?? 0;
  }

  async raisedRecently(channelId: number, ruleId: number, deviceId: string, since: number, alarmId: number): Promise<boolean> {
    return (this.s.raisedSince.get(channelId, ruleId, deviceId, since, alarmId)?.n ?? 0) > 0;
  }

  async deliveries(channelId: number, limit: number): Promise<Delivery[]> {
    return this.s.deliveries.all(channelId, limit).map(deliveryFrom);
  }
}
