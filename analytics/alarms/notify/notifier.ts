// Sends alarm events to the channels that want them (robots and webhooks over HTTPS, e-mail over SMTP): routing per firm and severity, quiet hours (only critical
// alarms then), deduplication (each event once per channel across API nodes; the same rule and device raised
// again within dedupMinutes is not sent again), a rate limit per channel, and retries with backoff. Every
// decision is recorded as a delivery (sent, failed or skipped, and why).
import type { Logger } from '../../../common/log.ts';
import type { AlarmEvent, Severity } from '../rules.ts';
import { PLATFORM_FIRM } from '../rules.ts';
import type { Channel, ChannelStore, Delivery } from './channels.ts';
import { sendMail } from './email.ts';
import { requestFor, send } from './send.ts';

export interface NotifierOptions {
  /** Attempts per delivery (the first included). */
  maxAttempts: number;
  /** Wait before the second attempt; doubled for each further one. */
  retryBaseMs: number;
  timeoutMs: number;
  log?: Logger | undefined;
  now?: () => number;
}

export const DEFAULT_NOTIFIER_OPTIONS: NotifierOptions = { maxAttempts: 5, retryBaseMs: 2000, timeoutMs: 10_000 };

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** Minutes after midnight in Asia/Shanghai (no daylight saving). */
function shanghaiMinute(ms: number): number {
  return Math.floor(((ms + 8 * 3_600_000) % 86_400_000) / 60_000);
}

export function inQuietHours(c: Pick<Channel, 'quietFrom' | 'quietTo'>, at: number): boolean {
  if (c.quietFrom === null || c.quietTo === null || c.quietFrom === c.quietTo) return false;
  const m = shanghaiMinute(at);
  return c.quietFrom < c.quietTo ? m >= c.quietFrom && m < c.quietTo : m >= c.quietFrom || m < c.quietTo;
}

export class AlarmNotifier {
  private readonly opts: NotifierOptions;
  private readonly inFlight = new Set<Promise<void>>();
  /** Events are routed one after the other, in the order they happened (the rate limit counts what went before). */
  private routing: Promise<void> = Promise.resolve();
  /** Wakes deliveries waiting to retry, so closing does not wait out a backoff. */
  private readonly sleepers = new Set<() => void>();
  private closed = false;

  constructor(private readonly channels: ChannelStore, opts: Partial<NotifierOptions> = {}) {
    this.opts = { ...DEFAULT_NOTIFIER_OPTIONS, ...opts };
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Why a channel does not send this event (recorded as skipped), or null when it does; undefined: not its business. */
  private async verdict(c: Channel, ev: AlarmEvent, at: number): Promise<string | null | undefined> {
    const a = ev.alarm;
    if (!c.enabled || ev.event === 'acknowledged' || (ev.event === 'cleared' && !c.notifyCleared)) return undefined;
    if (c.firmId !== null && c.firmId !== a.firmId) return undefined;
    if (c.firmId !== null && a.firmId === PLATFORM_FIRM) return undefined;
    if (RANK[a.severity] < RANK[c.minSeverity]) return undefined;
    if (a.severity !== 'critical' && inQuietHours(c, at)) return 'quiet hours (only critical alarms are sent)';
    if (ev.event === 'raised' && c.dedupMinutes > 0 && await this.channels.raisedRecently(c.id, a.ruleId, a.deviceId, at - c.dedupMinutes * 60_000, a.id)) {
      return `duplicate: the same rule and device was sent within ${c.dedupMinutes} min`;
    }
    if (await this.channels.sentSince(c.id, at - 3_600_000) >= c.maxPerHour) return `rate limit: ${c.maxPerHour} messages an hour`;
    return null;
  }

  /** Routes one event (the engine calls this for every raised, acknowledged and cleared alarm). */
  notify(ev: AlarmEvent): void {
    if (this.closed) return;
    const at = this.now();
    this.routing = this.routing.then(() => this.route(ev, at)).catch((err: Error) => this.opts.log?.warn({ err: err.message, alarm: ev.alarm.id }, 'routing an alarm notification failed'));
    this.track(this.routing);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async route(ev: AlarmEvent, at: number): Promise<void> {
    for (const c of await this.channels.list()) {
      const why = await this.verdict(c, ev, at);
      if (why === undefined) continue;
      const d = await this.channels.claim({ channelId: c.id, alarmId: ev.alarm.id, event: ev.event, ruleId: ev.alarm.ruleId, deviceId: ev.alarm.deviceId, status: why === null ? 'pending' : 'skipped', why }, at);
      if (!d || why !== null) continue;
      this.track(this.deliver(c, ev, d).catch((err: Error) => this.opts.log?.warn({ err: err.message, channel: c.id }, 'alarm delivery failed unexpectedly')));
    }
  }

  /** One attempt to send a test message on a channel (not an alarm: nothing is recorded); why it failed, or undefined. */
  async sendTest(c: Channel, by: string): Promise<string | undefined> {
    const at = this.now();
    const ev: AlarmEvent = {
      event: 'raised',
      alarm: {
        id: 0, ruleId: 0, ruleName: 'test', kind: 'threshold', severity: 'info', firmId: c.firmId ?? '', deviceId: 'test', deviceType: 'platform', metric: null,
        message: `Test message from the platform, sent by ${by}: this channel works`, messages: { zh: `平台测试消息（${by} 发送）：此通道可以收到告警`, en: `Test message from the platform, sent by ${by}: this channel works` },
        value: null, raisedAt: at, ackedAt: null, ackedBy: null, clearedAt: null, clearValue: null, status: 'active',
      },
    };
    return c.kind === 'email' ? sendMail(c, ev, this.opts.timeoutMs) : send(requestFor({ ...c, kind: c.kind }, ev, at), this.opts.timeoutMs);
  }

  private async deliver(c: Channel, ev: AlarmEvent, d: Delivery): Promise<void> {
    let why: string | undefined;
    let attempt = 0;
    while (attempt < this.opts.maxAttempts) {
      attempt++;
      why = c.kind === 'email' ? await sendMail(c, ev, this.opts.timeoutMs) : await send(requestFor({ ...c, kind: c.kind }, ev, this.now()), this.opts.timeoutMs);
      if (why === undefined) {
        await this.channels.finish(d.id, 'sent', attempt, null, this.now());
        return;
      }
      await this.channels.attempted(d.id, attempt, why);
      if (this.closed || attempt === this.opts.maxAttempts) break;
      await this.sleep(this.opts.retryBaseMs * 2 ** (attempt - 1));
    }
    this.opts.log?.warn({ channel: c.id, alarm: ev.alarm.id, why }, 'alarm notification not delivered');
    await this.channels.finish(d.id, 'failed', attempt, this.closed && attempt < this.opts.maxAttempts ? `${why ?? ''} (gave up at shutdown)` : (why ?? null), this.now());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.sleepers.add(wake);
    });
  }

  /** Resolves when every delivery under way has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.sleepers]) wake();
    await this.idle();
  }
}
