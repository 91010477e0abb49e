// E-mail channels: the URL names the SMTP server, the sender and the recipients
// (`smtps://alarm@mail.example.cn:465?from=alarm@example.cn&to=a@example.cn,b@example.cn`; smtp:// upgrades
// with STARTTLS, plain only to this host); the channel's secret is the SMTP password. Sent with nodemailer.
import nodemailer from 'nodemailer';
import type { AlarmEvent } from '../rules.ts';
import type { Channel } from './channels.ts';
import { markdownOf } from './send.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

interface MailTarget {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  from: string;
  to: string[];
}

/** The SMTP server, sender and recipients of an e-mail channel's URL, or why it is not one. */
export function mailTarget(url: string): MailTarget | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'url is not a URL';
  }
  if (u.protocol !== 'smtps:' && u.protocol !== 'smtp:') return 'an email channel\'s url is smtps://user@host:465?from=…&to=… (or smtp:// with STARTTLS)';
  const to = (u.searchParams.get('to') ?? '').split(',').map((s) => s.trim()).filter((s) => s.includes('@'));
  if (to.length === 0) return 'an email channel\'s url needs to=recipient@…[,…]';
  const user = decodeURIComponent(u.username);
  const from = u.searchParams.get('from') ?? (user.includes('@') ? user : '');
  if (!from.includes('@')) return 'an email channel\'s url needs from=sender@… (or a user name that is an address)';
  const secure = u.protocol === 'smtps:';
  return { host: u.hostname, port: Number(u.port || (secure ? 465 : 587)), secure, user, from, to };
}

/** Sends one alarm event by e-mail; undefined when the server accepted it, else why not. */
export async function sendMail(c: Channel, ev: AlarmEvent, timeoutMs: number): Promise<string | undefined> {
  const t = mailTarget(c.url);
  if (typeof t === 'string') return t;
  const transport = nodemailer.createTransport({
    host: t.host, port: t.port, secure: t.secure,
    // Off this host the password never crosses the network in the clear.
    requireTLS: !t.secure && !LOOPBACK.has(t.host), ignoreTLS: !t.secure && LOOPBACK.has(t.host),
    ...(t.user ? { auth: { user: t.user, pass: c.secret ?? '' } } : {}),
    connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs,
  });
  const md = markdownOf(ev, c.lang);
  try {
    await transport.sendMail({ from: t.from, to: t.to, subject: md.title, text: md.text.replace(/\*\*/g, '').replace(/^> /gm, '') });
    return undefined;
  } catch (err) {
    return `SMTP: ${(err as Error).message}`.slice(0, 300);
  } finally {
    transport.close();
  }
}
