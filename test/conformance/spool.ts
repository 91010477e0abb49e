// The spool conformance suite: every Spool adapter must pass it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { truncatePayload, type DeadLetter, type Spool } from '../../common/spool/spool.ts';

const dead = (over: Partial<DeadLetter> = {}): DeadLetter => ({
  receivedAt: 1000, firmId: 'F1', deviceId: 'd1', topic: 't', field: 'metrics.x', rule: 'maximum', reason: 'too big', payload: '{}', ...over,
});

export function spoolConformance(name: string, make: () => Promise<{ spool: Spool; reopen(): Promise<Spool>; cleanup(): Promise<void> }>): void {
  describe(`Spool conformance: ${name}`, () => {
    test('records come out oldest first and leave only when acked', async () => {
      const { spool, cleanup } = await make();
      await spool.append([1, 2, 3].map((i) => ({ receivedAt: i, deviceId: `d${i}`, lines: `m v=${i} ${i}`, points: 1 })), []);
      await spool.append([{ receivedAt: 4, deviceId: 'd4', lines: 'm v=4 4\nm v=5 5', points: 2 }], []);
      const rows = await spool.peek(2);
      assert.deepEqual(rows.map((r) => r.deviceId), ['d1', 'd2']);
      assert.deepEqual(await spool.stats(), { rows: 4, points: 5, oldestReceivedAt: 1 });
      await spool.ack(rows[0]!.id, rows[1]!.id);
      assert.deepEqual((await spool.peek(10)).map((r) => r.lines), ['m v=3 3', 'm v=4 4\nm v=5 5']);
      const all = await spool.peek(10);
      await spool.ack(all[0]!.id, all[1]!.id);
      assert.deepEqual(await spool.stats(), { rows: 0, points: 0, oldestReceivedAt: null });
      await spool.close();
      await cleanup();
    });

    test('what append() returned from survives closing and reopening', async () => {
      const { spool, reopen, cleanup } = await make();
      await spool.append([{ receivedAt: 1, deviceId: 'd', lines: 'm v=1 1', points: 1 }], [dead()]);
      await spool.close();
      const again = await reopen();
      assert.equal((await again.peek(10)).length, 1);
      assert.equal((await again.listDeadLetters({ limit: 10 })).length, 1);
      await again.close();
      await cleanup();
    });

    test('dead letters: filtered by firm and device, newest first, paged, pruned by age', async () => {
      const { spool, cleanup } = await make();
      await spool.append([], [dead({ receivedAt: 1 }), dead({ receivedAt: 2, deviceId: 'd2' }), dead({ receivedAt: 3, firmId: 'F2' }), dead({ receivedAt: 4 })]);
      const f1 = await spool.listDeadLetters({ firmId: 'F1', limit: 10 });
      assert.deepEqual(f1.map((d) => d.receivedAt), [4, 2, 1]);
      assert.deepEqual((await spool.listDeadLetters({ firmId: 'F1', deviceId: 'd1', limit: 10 })).map((d) => d.receivedAt), [4, 1]);
      const page = await spool.listDeadLetters({ firmId: 'F1', limit: 1, beforeId: f1[0]!.id });
      assert.deepEqual(page.map((d) => d.receivedAt), [2]);
      assert.equal(await spool.pruneDeadLetters(3), 2);
      assert.deepEqual((await spool.listDeadLetters({ limit: 10 })).map((d) => d.receivedAt), [4, 3]);
      await spool.close();
      await cleanup();
    });

    test('quarantined readings: listed as releasable, released once into the spool (idempotent), scoped to the firm, summarised until released', async () => {
      const { spool, cleanup } = await make();
      const q = (over: Partial<DeadLetter>) => dead({ rule: 'implausible', field: 'metrics.e', ...over });
      await spool.append([], [
        q({ receivedAt: 10, reading: 'm,device=d1 e=1e13 60000' }),
        q({ receivedAt: 10, field: 'metrics.f', reading: 'm,device=d1 e=1e13 60000' }), // the same point, a second counter
        q({ receivedAt: 20, reading: 'm,device=d1 e=2e13 120000' }),
        q({ receivedAt: 30, deviceId: 'd2', reading: 'm,device=d2 e=5 60000' }),
        q({ receivedAt: 40, firmId: 'F2', deviceId: 'd3', reading: 'm,device=d3 e=5 60000' }),
        dead({ receivedAt: 50 }),
      ]);
      const listed = await spool.listDeadLetters({ firmId: 'F1', limit: 10 });
      assert.deepEqual(listed.map((d) => d.releasable), [false, true, true, true, true]);
      assert.deepEqual((await spool.quarantineSummary(0)).map((s) => [s.firmId, s.deviceId, s.count, s.oldestAt, s.newestAt]).sort(), [['F1', 'd1', 3, 10, 20], ['F1', 'd2', 1, 30, 30], ['F2', 'd3', 1, 40, 40]]);
      const byId = (t: number) => listed.filter((d) => d.receivedAt === t).map((d) => d.id);
      const other = (await spool.listDeadLetters({ firmId: 'F2', limit: 10 }))[0]!.id;
      const first = await spool.releaseQuarantined({ firmId: 'F1', ids: [byId(10)[0]!, other], by: 'eng', reason: 'meter swapped', at: 99 });
      assert.deepEqual(first.released, [byId(10)[0]], 'another firm\'s reading is not touched');
      assert.equal(first.points, 1);
      assert.deepEqual(first.devices, [{ deviceId: 'd1', ids: [byId(10)[0]], points: 1 }]);
      assert.deepEqual((await spool.peek(10)).map((r) => [r.deviceId, r.lines, r.points]), [['d1', 'm,device=d1 e=1e13 60000', 1]]);
      const again = await spool.releaseQuarantined({ firmId: 'F1', deviceId: 'd1', from: 0, to: 15, by: 'eng', reason: 'again', at: 100 });
      assert.deepEqual(again.released, [], 'the second counter\'s row went with its point');
      assert.deepEqual(again.alreadyReleased.sort(), byId(10).sort());
      assert.equal((await spool.peek(10)).length, 1, 'released twice, stored once');
      const rows = await spool.listDeadLetters({ firmId: 'F1', deviceId: 'd1', limit: 10 });
      assert.deepEqual(rows.map((d) => [d.receivedAt, d.releasedAt, d.releasedBy, d.releaseReason]), [[50, null, null, null], [20, null, null, null], [10, 99, 'eng', 'meter swapped'], [10, 99, 'eng', 'meter swapped']]);
      const batch = await spool.releaseQuarantined({ firmId: 'F1', deviceId: 'd1', by: 'eng', reason: 'all of it', at: 101 });
      assert.deepEqual(batch.released, byId(20));
      assert.equal((await spool.releaseQuarantined({ firmId: 'F1', ids: [byId(50)[0]!], by: 'eng', reason: 'x', at: 102 })).released.length, 0, 'other rejections cannot be released');
      assert.deepEqual((await spool.quarantineSummary(0)).map((s) => s.deviceId).sort(), ['d2', 'd3']);
      await spool.close();
      await cleanup();
    });

    test('counter memory: upserted per device and counter, survives reopening', async () => {
      const { spool, reopen, cleanup } = await make();
      const m = { deviceId: 'd1', type: 'electricity_meter', counter: 'energy_kwh_total', ts: 1000, value: 5.5, allowance: 2 };
      await spool.saveCounterMemory([m, { ...m, counter: 'other' }]);
      await spool.saveCounterMemory([{ ...m, ts: 2000, value: 7 }]);
      await spool.close();
      const again = await reopen();
      assert.deepEqual((await again.loadCounterMemory()).sort((a, b) => a.counter.localeCompare(b.counter)), [{ ...m, ts: 2000, value: 7 }, { ...m, counter: 'other' }]);
      await again.close();
      await cleanup();
    });

    test('payloads are truncated with a note of how much was cut', () => {
      assert.equal(truncatePayload('abcdef', 3), 'abc…(3 more characters)');
      assert.equal(truncatePayload(Buffer.from('ab'), 3), 'ab');
    });
  });
}
