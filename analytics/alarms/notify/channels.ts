// Notification channels (企业微信 and 钉钉 group robots, generic webhooks, e-mail) and the record of every delivery:
// the channel-store port, with adapters on SQLite (the monitoring database, sqlite-channels.ts) and PostgreSQL
// (beside the shared alarm store, pg-channels.ts). Secrets, and the keys robot URLs carry, never leave this
// module unmasked.
import type { Actor } from '../../base/db.ts';
import type { Severity } from '../rules.ts';
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

export interface ChannelRow {
  id: number; name: string; kind: string; url: string; secret: string | null; firm_id: string | null; min_severity: string; quiet_from: number | null; quiet_to: number | null;
  max_per_hour: number; dedup_minutes: number; notify_cleared: number | boolean; lang: string; enabled: number | boolean; created_by: string; created_at: number; updated_at: number;
}
export interface DeliveryRow { id: number; channel_id: number; alarm_id: number; event: string; status: string; attempts: number; why: string | null; created_at: number; finished_at: number | null }

export function channelFrom(r: ChannelRow): Channel {
  return {
    id: r.id, name: r.name, kind: r.kind as ChannelKind, url: r.url, secret: r.secret, firmId: r.firm_id, minSeverity: r.min_severity as Severity,
    quietFrom: r.quiet_from, quietTo: r.quiet_to, maxPerHour: r.max_per_hour, dedupMinutes: r.dedup_minutes, notifyCleared: r.notify_cleared === 1 || r.notify_cleared === true,
    lang: r.lang as ChannelLang, enabled: r.enabled === 1 || r.enabled === true, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export function deliveryFrom(r: DeliveryRow): Delivery {
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

export interface NewDelivery { channelId: number; alarmId: number; event: string; ruleId: number; deviceId: string; status: DeliveryStatus; why: string | null }

/** Parameter name → column of a channel. */
export const CHANNEL_COLUMNS = {
  name: 'name', kind: 'kind', url: 'url', secret: 'secret', firmId: 'firm_id', minSeverity: 'min_severity', quietFrom: 'quiet_from', quietTo: 'quiet_to',
  maxPerHour: 'max_per_hour', dedupMinutes: 'dedup_minutes', notifyCleared: 'notify_cleared', lang: 'lang', enabled: 'enabled',
} as const;

export const CHANNEL_SQL = {
  sentSince: `SELECT count(*) AS n FROM alarm_deliveries WHERE channel_id = $1 AND created_at >= $2 AND status IN ('pending', 'sent')`,
  raisedSince: `SELECT count(*) AS n FROM alarm_deliveries
    WHERE channel_id = $1 AND rule_id = $2 AND device_id = $3 AND event = 'raised' AND status IN ('pending', 'sent') AND created_at >= $4 AND alarm_id <> $5`,
} as const;

export interface ChannelStore {
  list(): Promise<Channel[]>;
  get(id: number): Promise<Channel | undefined>;
  create(c: ChannelInput, actor: Actor, at?: number): Promise<Channel>;
  update(id: number, c: ChannelInput, at?: number): Promise<Channel | undefined>;
  remove(id: number): Promise<boolean>;
  /**
   * Records a delivery of one event of one alarm on one channel; undefined when it was recorded before (by this
   * node or another), so each is sent at most once.
   */
  claim(d: NewDelivery, at?: number): Promise<Delivery | undefined>;
  attempted(id: number, attempts: number, why: string | null): Promise<void>;
  finish(id: number, status: DeliveryStatus, attempts: number, why: string | null, at?: number): Promise<void>;
  /** Deliveries sent or under way on a channel since `since` (the rate limit). */
  sentSince(channelId: number, since: number): Promise<number>;
  /** Whether the same rule and device was announced as raised on the channel since `since` (another alarm). */
  raisedRecently(channelId: number, ruleId: number, deviceId: string, since: number, alarmId: number): Promise<boolean>;
  /** Newest first. */
  deliveries(channelId: number, limit: number): Promise<Delivery[]>;
}
