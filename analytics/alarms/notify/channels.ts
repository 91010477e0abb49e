// Notification channels (企业微信 and 钉钉 group robots, generic webhooks, e-mail) and the record of every delivery, in
// the monitoring database. Secrets, and the keys robot URLs carry, never leave this module unmasked.
import type { Db } from '../../../common/sqlite.ts';
import type { Actor } from '../../base/db.ts';
import type { Severity } from '../rules.ts';
import { EditedTable } from '../crud.ts';
import { mailTarget } from './email.ts';

export const CHANNEL_KINDS = ['wecom', 'dingtalk', 'webhook', 'email'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export const CHANNEL_LANGS = ['zh', 'en', 'both'] as const;
export type ChannelLang = (typeof CHANNEL_LANGS)[number];
export const DELIVERY_STATUSES = ['pending', 'sent', 'failed', 'skipped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface ChannelInput {
  name: string;
  kind: ChannelKind;
  /** The robot's or receiver's URL (https; http only to this host); e-mail: smtps://user@host:port?from=…&to=… */
  url: string;
  /** 钉钉: the signing secret (SEC…); webhook: the HMAC key of the signature header; e-mail: the SMTP password; 企业微信: unused. */
  secret: string | null;
  /** null: every firm's alarms (and the platform's). */
  firmId: string | null;
  minSeverity: Severity;
  /** Quiet hours, minutes after midnight Asia/Shanghai (from > to spans midnight); only critical alarms then. */
  quietFrom: number | null;
  quietTo: number | null;
  maxPerHour: number;
  /** The same rule and device raised again within this many minutes is not sent again. */
  dedupMinutes: number;
  notifyCleared: boolean;
  lang: ChannelLang;
  enabled: boolean;
}

export interface Channel extends ChannelInput {
  id: number;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

/** A channel as the API shows it: no secret, the URL's query values masked. */
export type PublicChannel = Omit<Channel, 'secret'> & { hasSecret: boolean };

export interface Delivery {
  id: number;
  channelId: number;
  alarmId: number;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  why: string | null;
  createdAt: number;
  finishedAt: number | null;
}

interface ChannelRow {
  id: number; name: string; kind: string; url: string; secret: string | null; firm_id: string | null; min_severity: string; quiet_from: number | null; quiet_to: number | null;
  max_per_hour: number; dedup_minutes: number; notify_cleared: number; lang: string; enabled: number; created_by: string; created_at: number; updated_at: number;
}
interface DeliveryRow { id: number; channel_id: number; alarm_id: number; event: string; status: string; attempts: number; why: string | null; created_at: number; finished_at: number | null }

function channelFrom(r: ChannelRow): Channel {
  return {
    id: r.id, name: r.name, kind: r.kind as ChannelKind, url: r.url, secret: r.secret, firmId: r.firm_id, minSeverity: r.min_severity as Severity,
    quietFrom: r.quiet_from, quietTo: r.quiet_to, maxPerHour: r.max_per_hour, dedupMinutes: r.dedup_minutes, notifyCleared: r.notify_cleared === 1,
    lang: r.lang as ChannelLang, enabled: r.enabled === 1, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

function deliveryFrom(r: DeliveryRow): Delivery {
  return { id: r.id, channelId: r.channel_id, alarmId: r.alarm_id, event: r.event, status: r.status as DeliveryStatus, attempts: r.attempts, why: r.why, createdAt: r.created_at, finishedAt: r.finished_at };
}

/** Query parameters that are not secret (an e-mail channel's sender and recipients). */
const PLAIN_PARAMS = new Set(['from', 'to']);

/** The URL with its query values masked (a robot's key or access_token is as secret as the secret). */
export function maskedUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) if (!PLAIN_PARAMS.has(k)) u.searchParams.set(k, '***');
    u.password = '';
    return u.toString().replace(/%2A%2A%2A/g, '***');
  } catch {
    return '***';
  }
}

export function publicChannel(c: Channel): PublicChannel {
  const { secret, ...rest } = c;
  return { ...rest, url: maskedUrl(c.url), hasSecret: secret !== null && secret !== '' };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** Why a channel cannot work, or undefined. */
export function channelProblem(c: ChannelInput): string | undefined {
  if ((c.quietFrom === null) !== (c.quietTo === null)) return 'quiet hours need both quietFrom and quietTo';
  if (c.kind === 'email') {
    const t = mailTarget(c.url);
    return typeof t === 'string' ? t : undefined;
  }
  let u: URL;
  try {
    u = new URL(c.url);
  } catch {
    return 'url is not a URL';
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname))) return 'url must be https (http only to this host)';
  if (c.kind === 'dingtalk' && !c.secret) return 'a 钉钉 robot channel needs its signing secret (加签, SEC…)';
  return undefined;
}

export class ChannelStore {
  private readonly s;
  private readonly table: EditedTable<ChannelRow, Channel, ChannelInput>;

  constructor(db: Db) {
    this.table = new EditedTable(db, 'alarm_channels', {
      name: 'name', kind: 'kind', url: 'url', secret: 'secret', firmId: 'firm_id', minSeverity: 'min_severity', quietFrom: 'quiet_from', quietTo: 'quiet_to',
      maxPerHour: 'max_per_hour', dedupMinutes: 'dedup_minutes', notifyCleared: 'notify_cleared', lang: 'lang', enabled: 'enabled',
    }, channelFrom, (c) => ({
      name: c.name, kind: c.kind, url: c.url, secret: c.secret, firmId: c.firmId, minSeverity: c.minSeverity, quietFrom: c.quietFrom, quietTo: c.quietTo,
      maxPerHour: c.maxPerHour, dedupMinutes: c.dedupMinutes, notifyCleared: c.notifyCleared ? 1 : 0, lang: c.lang, enabled: c.enabled ? 1 : 0,
    }));
    this.s = {
      claim: db.prepare(`INSERT OR IGNORE INTO alarm_deliveries (channel_id, alarm_id, event, rule_id, device_id, status, attempts, why, created_at)
        VALUES (@channelId, @alarmId, @event, @ruleId, @deviceId, @status, 0, @why, @at)`),
      finish: db.prepare('UPDATE alarm_deliveries SET status = @status, attempts = @attempts, why = @why, finished_at = @at WHERE id = @id'),
      attempt: db.prepare('UPDATE alarm_deliveries SET attempts = @attempts, why = @why WHERE id = @id'),
      sentSince: db.prepare<[number, number], { n: number }>(`SELECT count(*) AS n FROM alarm_deliveries WHERE channel_id = ? AND created_at >= ? AND status IN ('pending', 'sent')`),
      raisedSince: db.prepare<[number, number, string, number, number], { n: number }>(`SELECT count(*) AS n FROM alarm_deliveries
        WHERE channel_id = ? AND rule_id = ? AND device_id = ? AND event = 'raised' AND status IN ('pending', 'sent') AND created_at >= ? AND alarm_id <> ?`),
      deliveries: db.prepare<[number, number], DeliveryRow>('SELECT * FROM alarm_deliveries WHERE channel_id = ? ORDER BY id DESC LIMIT ?'),
      delivery: db.prepare<[number], DeliveryRow>('SELECT * FROM alarm_deliveries WHERE id = ?'),
    };
  }

  list(): Channel[] {
    return this.table.list();
  }

  get(id: number): Channel | undefined {
    return this.table.get(id);
  }

  create(c: ChannelInput, actor: Actor, at = Date.now()): Channel {
    return this.table.create(c, actor, at);
  }

  update(id: number, c: ChannelInput, at = Date.now()): Channel | undefined {
    return this.table.update(id, c, at);
  }

  remove(id: number): boolean {
    return this.table.remove(id);
  }

  /**
   * Records a delivery of one event of one alarm on one channel; undefined when it was recorded before (by this
   * node or another), so each is sent at most once.
   */
  claim(d: { channelId: number; alarmId: number; event: string; ruleId: number; deviceId: string; status: DeliveryStatus; why: string | null }, at = Date.now()): Delivery | undefined {
    const info = this.s.claim.run({ ...d, at });
    if (info.changes === 0) return undefined;
    return deliveryFrom(this.s.delivery.get(Number(info.lastInsertRowid)) as DeliveryRow);
  }

  attempted(id: number, attempts: number, why: string | null): void {
    this.s.attempt.run({ id, attempts, why });
  }

  finish(id: number, status: DeliveryStatus, attempts: number, why: string | null, at = Date.now()): void {
    this.s.finish.run({ id, status, attempts, why, at });
  }

  /** Deliveries sent or under way on a channel since `since` (the rate limit). */
  sentSince(channelId: number, since: number): number {
    return this.s.sentSince.get(channelId, since)?.n ?? 0;
  }

  /** Whether the same rule and device was announced as raised on the channel since `since` (another alarm). */
  raisedRecently(channelId: number, ruleId: number, deviceId: string, since: number, alarmId: number): boolean {
    return (this.s.raisedSince.get(channelId, ruleId, deviceId, since, alarmId)?.n ?? 0) > 0;
  }

  deliveries(channelId: number, limit: number): Delivery[] {
    return this.s.deliveries.all(channelId, limit).map(deliveryFrom);
  }
}
