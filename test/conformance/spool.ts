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

    test('payloads are truncated with a note of how much was cut', () => {
      assert.equal(truncatePayload('abcdef', 3), 'abc…(3 more characters)');
      assert.equal(truncatePayload(Buffer.from('ab'), 3), 'ab');
    });
  });
}
