// The alarm-store conformance suite: every AlarmStore adapter must pass it (run from
// test/integration/alarm-store-ports.test.ts against SQLite and a private PostgreSQL).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlarmRuleInput } from '../../analytics/alarms/rules.ts';
import type { AlarmStore, NewAlarm } from '../../analytics/alarms/store.ts';
import type { ChannelInput, ChannelStore } from '../../analytics/alarms/notify/channels.ts';

export interface AlarmStoreFixture {
  store: AlarmStore;
  /** The notification channels on the same storage. */
  channels: ChannelStore;
  /** Another node on the same storage (a second API node). */
  another(): Promise<AlarmStore>;
  /** The store closed and opened again (a restart). */
  reopen(): Promise<AlarmStore>;
  cleanup(): Promise<void>;
}

const actor = { name: 'eng', tokenId: 'tok1' };
const rule: AlarmRuleInput = {
  name: '染液超温', kind: 'threshold', firmId: 'F1', deviceType: 'dyeing_machine', deviceId: null, metric: 'bath_temp_c', op: '>', value: 140,
  states: null, windowS: 60, durationS: 30, severity: 'critical', enabled: true,
};
const alarm = (over: Partial<NewAlarm> = {}): NewAlarm => ({
  ruleId: 1, ruleName: 'r', kind: 'threshold', severity: 'critical', firmId: 'F1', deviceId: 'd1', deviceType: 'dyeing_machine', metric: 'bath_temp_c',
  value: 142, raisedAt: 1000, messages: { zh: '超温', en: 'too hot' }, ...over,
});

export function alarmStoreConformance(name: string, make: () => Promise<AlarmStoreFixture>): void {
  describe(`AlarmStore conformance: ${name}`, () => {
    test('a new store has the default rules, in order', async () => {
      const f = await make();
      assert.deepEqual((await f.store.rules()).map((r) => r.kind), ['rate', 'threshold', 'stuck', 'state', 'offline', 'clock_skew', 'counter_reset', 'rejected', 'spool', 'store_down', 'quarantine']);
      await f.cleanup();
    });

    test('rules: created with who and when, read, replaced, disabled, deleted', async () => {
      const f = await make();
      const r = await f.store.createRule({ ...rule, kind: 'state', metric: null, op: null, value: null, states: ['fault', 'stopped'] }, actor, 5000);
      assert.equal(r.createdBy, 'eng');
      assert.equal(r.createdAt, 5000);
      assert.deepEqual(r.states, ['fault', 'stopped']);
      assert.deepEqual(await f.store.rule(r.id), r);
      const u = await f.store.updateRule(r.id, { ...rule, enabled: false }, 6000);
      assert.equal(u?.enabled, false);
      assert.equal(u?.updatedAt, 6000);
      assert.equal(u?.createdAt, 5000);
      assert.equal(u?.value, 140);
      assert.equal(u?.states, null);
      assert.equal(await f.store.updateRule(999_999, rule), undefined);
      assert.equal(await f.store.deleteRule(r.id), true);
      assert.equal(await f.store.deleteRule(r.id), false);
      assert.equal(await f.store.rule(r.id), undefined);
      await f.cleanup();
    });

    test('raise is insert-if-absent per rule and device, also for two nodes at once', async () => {
      const f = await make();
      const other = await f.another();
      const first = await f.store.raise(alarm());
      assert.equal(first.fresh, true);
      assert.equal(first.alarm.status, 'active');
      assert.deepEqual(first.alarm.messages, { zh: '超温', en: 'too hot' });
      const again = await other.raise(alarm({ raisedAt: 2000 }));
      assert.deepEqual([again.fresh, again.alarm.id, again.alarm.raisedAt], [false, first.alarm.id, 1000]);
      const together = await Promise.all([...Array(6).keys()].map((i) => (i % 2 ? f.store : other).raise(alarm({ deviceId: 'd2', raisedAt: 3000 + i }))));
      assert.equal(together.filter((r) => r.fresh).length, 1, 'one of the simultaneous raises inserts');
      assert.equal(new Set(together.map((r) => r.alarm.id)).size, 1);
      assert.equal((await other.clear(first.alarm.id, 4000, 120))?.status, 'cleared');
      assert.equal(await f.store.clear(first.alarm.id, 4001, 119), undefined, 'cleared once');
      const next = await f.store.raise(alarm({ raisedAt: 5000 }));
      assert.equal(next.fresh, true);
      assert.notEqual(next.alarm.id, first.alarm.id);
      await other.close();
      await f.cleanup();
    });

    test('acknowledge once; status follows acknowledgement and clearing; open alarms and counts', async () => {
      const f = await make();
      const a = (await f.store.raise(alarm())).alarm;
      const b = (await f.store.raise(alarm({ deviceId: 'd2', severity: 'warning' }))).alarm;
      await f.store.raise(alarm({ firmId: 'F2', deviceId: 'd3', severity: 'warning' }));
      const acked = await f.store.ack(a.id, actor, 7000);
      assert.deepEqual([acked?.status, acked?.ackedBy, acked?.ackedAt], ['acknowledged', 'eng', 7000]);
      assert.equal(await f.store.ack(a.id, actor), undefined);
      assert.equal((await f.store.clear(a.id, 8000, null))?.status, 'closed');
      assert.deepEqual((await f.store.openAlarms()).map((x) => x.deviceId), ['d2', 'd3']);
      const byFirm = await f.store.openCounts();
      assert.deepEqual(byFirm.get('F1'), { active: 1, acknowledged: 0, critical: 0 });
      assert.deepEqual(byFirm.get('F2'), { active: 1, acknowledged: 0, critical: 0 });
      assert.deepEqual([...(await f.store.openCounts('d2')).entries()], [['d2', { active: 1, acknowledged: 0, critical: 0 }]]);
      assert.equal((await f.store.alarm(b.id))?.status, 'active');
      assert.equal(await f.store.alarm(999_999), undefined);
      await f.cleanup();
    });

    test('search: status, firms, device, severity, rule, time, paging newest first; counts per Shanghai day', async () => {
      const f = await make();
      const day = Date.UTC(2026, 0, 1, 12);
      for (let i = 0; i < 5; i++) await f.store.raise(alarm({ deviceId: `d${i}`, firmId: i < 3 ? 'F1' : 'F2', raisedAt: day + i * 3_600_000, severity: i === 0 ? 'critical' : 'info' }));
      const all = await f.store.list({ status: 'all', limit: 10 });
      assert.deepEqual(all.map((a) => a.deviceId), ['d4', 'd3', 'd2', 'd1', 'd0']);
      assert.deepEqual((await f.store.list({ firmIds: ['F2'], limit: 10 })).map((a) => a.deviceId), ['d4', 'd3']);
      assert.deepEqual((await f.store.list({ firmIds: [], limit: 10 })).length, 0);
      assert.deepEqual((await f.store.list({ firmId: 'F1', severity: 'critical', limit: 10 })).map((a) => a.deviceId), ['d0']);
      assert.deepEqual((await f.store.list({ deviceId: 'd1', ruleId: 1, kind: 'threshold', limit: 10 })).map((a) => a.deviceId), ['d1']);
      assert.deepEqual((await f.store.list({ from: day + 3_600_000, to: day + 3 * 3_600_000, limit: 10 })).map((a) => a.deviceId), ['d2', 'd1']);
      assert.deepEqual((await f.store.list({ beforeId: all[1]!.id, limit: 2 })).map((a) => a.deviceId), ['d2', 'd1']);
      await f.store.clear(all[0]!.id, day + 5 * 3_600_000, null);
      await f.store.ack(all[0]!.id, actor);
      assert.deepEqual((await f.store.list({ status: 'closed', limit: 10 })).map((a) => a.deviceId), ['d4']);
      assert.deepEqual((await f.store.list({ limit: 10 })).length, 4, 'open by default');
      // 12:00 UTC + 4 h is 00:00 of the next day in Shanghai.
      assert.deepEqual(await f.store.countsByDay({}), [
        { firmId: 'F2', day: '2026-01-02', total: 1, critical: 0, warning: 0, info: 1 },
        { firmId: 'F1', day: '2026-01-01', total: 3, critical: 1, warning: 0, info: 2 },
        { firmId: 'F2', day: '2026-01-01', total: 1, critical: 0, warning: 0, info: 1 },
      ]);
      await f.cleanup();
    });

    test('history and rules survive a restart; the open alarm still blocks a second raise', async () => {
      const f = await make();
      const r = await f.store.createRule(rule, actor);
      const a = (await f.store.raise(alarm({ ruleId: r.id }))).alarm;
      const again = await f.reopen();
      assert.equal((await again.rule(r.id))?.name, '染液超温');
      assert.equal((await again.alarm(a.id))?.status, 'active');
      assert.equal((await again.raise(alarm({ ruleId: r.id }))).fresh, false);
      await f.cleanup();
    });

    test('channels: created, changed, listed; each delivery claimed once; rate and duplicate counts; the log newest first', async () => {
      const f = await make();
      const input: ChannelInput = {
        name: '值班群', kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=t', secret: 'SECx', firmId: 'F1', minSeverity: 'warning',
        quietFrom: 1320, quietTo: 420, maxPerHour: 20, dedupMinutes: 10, notifyCleared: false, lang: 'both', enabled: true,
      };
      const c = await f.channels.create(input, actor, 1000);
      assert.deepEqual({ ...c, id: 0 }, { ...input, id: 0, createdBy: 'eng', createdAt: 1000, updatedAt: 1000 });
      assert.equal((await f.channels.update(c.id, { ...input, enabled: false, notifyCleared: true }, 2000))?.enabled, false);
      assert.deepEqual((await f.channels.list()).map((x) => [x.id, x.notifyCleared]), [[c.id, true]]);
      const d = { channelId: c.id, alarmId: 7, event: 'raised', ruleId: 3, deviceId: 'd1', status: 'pending' as const, why: null };
      const first = await f.channels.claim(d, 5000);
      assert.equal(first?.status, 'pending');
      assert.equal(await f.channels.claim(d, 5001), undefined, 'claimed once');
      assert.equal(await f.channels.sentSince(c.id, 5000), 1);
      assert.equal(await f.channels.raisedRecently(c.id, 3, 'd1', 4000, 8), true, 'another alarm of the same rule and device');
      assert.equal(await f.channels.raisedRecently(c.id, 3, 'd1', 4000, 7), false, 'not the alarm itself');
      await f.channels.attempted(first!.id, 1, 'HTTP 500');
      await f.channels.finish(first!.id, 'failed', 2, 'HTTP 500', 6000);
      assert.equal(await f.channels.sentSince(c.id, 0), 0, 'a failed delivery does not count');
      await f.channels.claim({ ...d, event: 'cleared', status: 'skipped', why: 'quiet hours' }, 7000);
      assert.deepEqual((await f.channels.deliveries(c.id, 10)).map((x) => [x.event, x.status, x.attempts, x.why, x.finishedAt]),
        [['cleared', 'skipped', 0, 'quiet hours', null], ['raised', 'failed', 2, 'HTTP 500', 6000]]);
      assert.equal(await f.channels.remove(c.id), true);
      assert.equal(await f.channels.get(c.id), undefined);
      await f.cleanup();
    });

    test('batch runs its function and returns its value', async () => {
      const f = await make();
      const out = await f.store.batch(async () => {
        const x = await f.store.raise(alarm());
        await f.store.clear(x.alarm.id, 2000, 1);
        return x.alarm.id;
      });
      assert.equal((await f.store.alarm(out))?.status, 'cleared');
      await f.cleanup();
    });
  });
}
