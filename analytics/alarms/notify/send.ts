// What one delivery puts on the wire: the 企业微信 group robot's markdown message, the 钉钉 custom robot's
// markdown message with its signature (timestamp and HMAC-SHA256 of "timestamp\nsecret", Base64, in the URL),
// or a generic webhook's JSON with an HMAC-SHA256 signature header.
import { createHmac } from 'node:crypto';
import type { AlarmEvent } from '../rules.ts';
import type { Channel, ChannelLang } from './channels.ts';

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Header names of the generic webhook's signature (the receiver recomputes it over `${timestamp}.${body}`). */
export const SIGNATURE_HEADER = 'x-dehong-signature';
export const TIMESTAMP_HEADER = 'x-dehong-timestamp';

const SEVERITY_WORDS = { info: { zh: '提示', en: 'info' }, warning: { zh: '警告', en: 'warning' }, critical: { zh: '严重', en: 'critical' } } as const;
const EVENT_WORDS = { raised: { zh: '告警', en: 'alarm' }, acknowledged: { zh: '已确认', en: 'acknowledged' }, cleared: { zh: '已恢复', en: 'cleared' } } as const;

function shanghaiTime(ms: number): string {
  return new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** The markdown text of an event in the channel's language(s). */
export function markdownOf(ev: AlarmEvent, lang: ChannelLang): { title: string; text: string } {
  const a = ev.alarm;
  const one = (l: 'zh' | 'en') => {
    const head = `**[${SEVERITY_WORDS[a.severity][l]}] ${EVENT_WORDS[ev.event][l]}**`;
    const when = l === 'zh' ? `时间：${shanghaiTime(ev.event === 'cleared' ? (a.clearedAt ?? a.raisedAt) : a.raisedAt)}（北京时间）` : `at ${shanghaiTime(ev.event === 'cleared' ? (a.clearedAt ?? a.raisedAt) : a.raisedAt)} (Beijing time)`;
    return `${head}\n> ${a.messages[l]}\n> ${when}\n> ${l === 'zh' ? '规则' : 'rule'}: ${a.ruleName}`;
  };
  const text = lang === 'both' ? `${one('zh')}\n\n${one('en')}` : one(lang);
  const title = `${SEVERITY_WORDS[a.severity][lang === 'en' ? 'en' : 'zh']} ${a.messages[lang === 'en' ? 'en' : 'zh']}`.slice(0, 64);
  return { title, text };
}

/** 钉钉's signature: Base64(HMAC-SHA256(key = secret, "timestamp\nsecret")). */
export function dingtalkSign(timestamp: number, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
}

/** The generic webhook's signature: hex HMAC-SHA256 of `${timestamp}.${body}` with the channel's secret. */
export function webhookSignature(timestamp: number, body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

export function requestFor(channel: Channel & { kind: Exclude<Channel['kind'], 'email'> }, ev: AlarmEvent, now = Date.now()): OutgoingRequest {
  const json = { 'content-type': 'application/json; charset=utf-8' };
  const md = markdownOf(ev, channel.lang);
  switch (channel.kind) {
    case 'wecom':
      return { url: channel.url, headers: json, body: JSON.stringify({ msgtype: 'markdown', markdown: { content: md.text } }) };
    case 'dingtalk': {
      const u = new URL(channel.url);
      u.searchParams.set('timestamp', String(now));
      u.searchParams.set('sign', dingtalkSign(now, channel.secret ?? ''));
      return { url: u.toString(), headers: json, body: JSON.stringify({ msgtype: 'markdown', markdown: { title: md.title, text: md.text } }) };
    }
    case 'webhook': {
      const body = JSON.stringify({ event: ev.event, alarm: ev.alarm, text: md.text });
      const headers: Record<string, string> = { ...json, [TIMESTAMP_HEADER]: String(now) };
      if (channel.secret) headers[SIGNATURE_HEADER] = webhookSignature(now, body, channel.secret);
      return { url: channel.url, headers, body };
    }
  }
}

/**
 * Sends one request; resolves with undefined when the receiver took it, else with why not. The robots answer
 * HTTP 200 with `{"errcode": 0}` on success and another errcode (with errmsg) when they refuse.
 */
export async function send(req: OutgoingRequest, timeoutMs: number): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return `request failed: ${(err as Error).message}`;
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) return `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  try {
    const parsed = JSON.parse(text) as { errcode?: unknown; errmsg?: unknown };
    if (typeof parsed.errcode === 'number' && parsed.errcode !== 0) return `errcode ${parsed.errcode}: ${String(parsed.errmsg ?? '')}`.slice(0, 300);
  } catch {
    // A webhook may answer with anything that is not JSON: the status said it was taken.
  }
  return undefined;
}
