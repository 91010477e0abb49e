// Notification channels and deliveries on PostgreSQL, in the shared alarm store's database (its schema is created
// by pg-store.ts): every API node sends through the same channels, and the unique delivery per channel, alarm
// and event keeps two nodes from sending one twice.
import type pg from 'pg';
import type { Actor } from '../../base/db.ts';
import {
  CHANNEL_COLUMNS, CHANNEL_SQL, channelFrom, deliveryFrom,
  type Channel, type ChannelInput, type ChannelRow, type ChannelStore, type Delivery, type DeliveryRow, type DeliveryStatus, type NewDelivery,
} from './channels.ts';

const NAMES = Object.keys(CHANNEL_COLUMNS) as Array<keyof typeof CHANNEL_COLUMNS>;
const INSERT = `INSERT INTO alarm_channels (${NAMES.map((n) => CHANNEL_COLUMNS[n]).join(', ')}, created_by, created_by_token, created_at, updated_at)
  VALUES (${NAMES.map((_, i) => `$${i + 1}`).join(', ')}, $${NAMES.length + 1}, $${NAMES.length + 2}, $${NAMES.length + 3}, $${NAMES.length + 3}) RETURNING *`;
const UPDATE = `UPDATE alarm_channels SET ${NAMES.map((n, i) => `${CHANNEL_COLUMNS[n]} = $${i + 1}`).join(', ')}, updated_at = $${NAMES.length + 1}
  WHERE id = $${NAMES.length + 2} RETURNING *`;
const values = (c: ChannelInput) => NAMES.map((n) => c[n]);

export class PgChannelStore implements ChannelStore {
  constructor(private readonly pool: pg.Pool) {}

  private async rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, params)).rows;
  }

  async list(): Promise<Channel[]> {
    return (await this.rows<ChannelRow>('SELECT * FROM alarm_channels ORDER BY id')).map(channelFrom);
  }

  async get(id: number): Promise<Channel | undefined> {
    const [r] = await this.rows<ChannelRow>('SELECT * FROM alarm_channels WHERE id = $1', [id]);
    return r ? channelFrom(r) : undefined;
  }

  async create(c: ChannelInput, actor: Actor, at = Date.now()): Promise<Channel> {
    const [r] = await this.rows<ChannelRow>(INSERT, [...values(c), actor.name, actor.tokenId, at]);
    return channelFrom(r as ChannelRow);
  }

  async update(id: number, c: ChannelInput, at = Date.now()): Promise<Channel | undefined> {
    const [r] = await this.rows<ChannelRow>(UPDATE, [...values(c), at, id]);
    return r ? channelFrom(r) : undefined;
  }

  async remove(id: number): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM alarm_channels WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async claim(d: NewDelivery, at = Date.now()): Promise<Delivery | undefined> {
    const [r] = await this.rows<DeliveryRow>(`INSERT INTO alarm_deliveries (channel_id, alarm_id, event, rule_id, device_id, status, attempts, why, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) ON CONFLICT (channel_id, alarm_id, event) DO NOTHING RETURNING *`,
    [d.channelId, d.alarmId, d.event, d.ruleId, d.deviceId, d.status, d.why, at]);
    return r ? deliveryFrom(r) : undefined;
  }

  async attempted(id: number, attempts: number, why: string | null): Promise<void> {
    await this.pool.query('UPDATE alarm_deliveries SET attempts = $1, why = $2 WHERE id = $3', [attempts, why, id]);
  }

  async finish(id: number, status: DeliveryStatus, attempts: number, why: string | null, at = Date.now()): Promise<void> {
    await this.pool.query('UPDATE alarm_deliveries SET status = $1, attempts = $2, why = $3, finished_at = $4 WHERE id = $5', [status, attempts, why, at, id]);
  }

  async sentSince(channelId: number, since: number): Promise<number> {
    const [r] = await this.rows<{ n: number }>(CHANNEL_SQL.sentSince, [channelId, since]);
    return r?.n ?? 0;
  }

  async raisedRecently(channelId: number, ruleId: number, deviceId: string, since: number, alarmId: number): Promise<boolean> {
    const [r] = await this.rows<{ n: number }>(CHANNEL_SQL.raisedSince, [channelId, ruleId, deviceId, since, alarmId]);
    return (r?.n ?? 0) > 0;
  }

  async deliveries(channelId: number, limit: number): Promise<Delivery[]> {
    return (await this.rows<DeliveryRow>('SELECT * FROM alarm_deliveries WHERE channel_id = $1 ORDER BY id DESC LIMIT $2', [channelId, limit])).map(deliveryFrom);
  }
}
