// The supervisor of `npm start`, with short-lived real child processes (`node -e` scripts): restarts with a
// doubling backoff that falls back after a long enough run, exit codes and signals in the log, stop() in order,
// SIGKILL after the stop timeout, and start-up failures that restart nothing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Supervisor, type ChildSpec, type SupervisorOptions } from '../../scripts/supervisor.ts';
import { waitFor } from '../../scripts/net.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-supervisor-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A `node -e` child; it prints "up" once its handlers are in place. */
function node(script: string): ChildProcess {
  return spawn(process.execPath, ['-e', `${script}; console.log('up')`], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function upPrinted(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.stdout?.once('data', () => resolve()));
}

const STAY = 'setInterval(() => {}, 1000)';

function supervised(opts: SupervisorOptions = {}): { sup: Supervisor; lines: Array<{ at: number; line: string }> } {
  const lines: Array<{ at: number; line: string }> = [];
  return { sup: new Supervisor({ ...opts, log: (line) => lines.push({ at: Date.now(), line }) }), lines };
}

test('a child that exits is restarted with a doubling backoff, which falls back to the minimum after a long run', async () => {
  const runs = path.join(dir, 'runs');
  // Runs 1-3 crash at once, run 4 stays up 2.5 s (longer than resetAfterMs) and crashes, run 5 stays. The reset
  // threshold is well above a loaded machine's `node -e` start-up (which counts as uptime: runs 1-3 must not reset).
  const script = `const fs = require('node:fs'); fs.appendFileSync(${JSON.stringify(runs)}, 'x'); const n = fs.readFileSync(${JSON.stringify(runs)}, 'utf8').length;
    if (n <= 3) process.exit(3); if (n === 4) setTimeout(() => process.exit(4), 2500); ${STAY}`;
  const { sup, lines } = supervised({ minBackoffMs: 100, maxBackoffMs: 1000, resetAfterMs: 2000 });
  try {
    await sup.start({ name: 'flaky', spawn: () => node(script) });
    await waitFor(async () => fs.existsSync(runs) && fs.readFileSync(runs, 'utf8').length === 5, 10_000, 'the fifth run');
    const exits = lines.filter((l) => l.line.includes('exited unexpectedly')).map((l) => l.line);
    assert.deepEqual(exits, [
      '[supervisor] flaky exited unexpectedly (exit code 3); restarting in 100 ms',
      '[supervisor] flaky exited unexpectedly (exit code 3); restarting in 200 ms',
      '[supervisor] flaky exited unexpectedly (exit code 3); restarting in 400 ms',
      '[supervisor] flaky exited unexpectedly (exit code 4); restarting in 100 ms',
    ]);
    // The waits are real: each restart comes at least the announced delay after the exit was logged.
    const restarts = lines.filter((l) => l.line.includes('restarted (pid'));
    const announced = lines.filter((l) => l.line.includes('exited unexpectedly'));
    for (const [i, r] of restarts.entries()) assert.ok(r.at - announced[i]!.at >= [100, 200, 400, 100][i]! - 5, `restart ${i + 1} waited`);
    assert.equal(sup.child('flaky')?.exitCode, null, 'the fifth run is running');
  } finally {
    await sup.stop();
  }
});

test('a child killed with SIGKILL is restarted and the log names the signal', async () => {
  const { sup, lines } = supervised({ minBackoffMs: 50 });
  try {
    await sup.start({ name: 'victim', spawn: () => node(STAY), ready: upPrinted });
    const first = sup.child('victim')!;
    first.kill('SIGKILL');
    await waitFor(async () => !!sup.child('victim') && sup.child('victim') !== first, 5_000, 'a new process');
    assert.notEqual(sup.child('victim')!.pid, first.pid);
    assert.ok(lines.some((l) => l.line === '[supervisor] victim exited unexpectedly (signal SIGKILL); restarting in 50 ms'), JSON.stringify(lines));
  } finally {
    await sup.stop();
  }
});

test('stop() stops the children one at a time in the order given, waits for each, and restarts none', async () => {
  const order = path.join(dir, 'order');
  // Each child takes its time to exit on SIGTERM, the first to stop the longest: stopped all at once they would
  // finish in the reverse order.
  const child = (name: string, delayMs: number): ChildSpec => ({
    name,
    spawn: () => node(`process.on('SIGTERM', () => setTimeout(() => { require('node:fs').appendFileSync(${JSON.stringify(order)}, '${name} '); process.exit(0); }, ${delayMs})); ${STAY}`),
    ready: upPrinted,
  });
  const { sup, lines } = supervised({ minBackoffMs: 10 });
  await sup.start(child('a', 0));
  await sup.start(child('b', 300));
  await sup.start(child('c', 150));
  const children = ['a', 'b', 'c'].map((n) => sup.child(n)!);
  await sup.stop(['b', 'c']);
  assert.equal(fs.readFileSync(order, 'utf8'), 'b c a ', 'named first, then the rest');
  for (const c of children) assert.equal(c.exitCode, 0, 'every child had exited when stop() resolved');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(lines.length, 0, `nothing restarted: ${JSON.stringify(lines)}`);
  await assert.rejects(sup.start(child('d', 0)), /stopping/);
});

test('a child that ignores SIGTERM is killed after the stop timeout', async () => {
  const { sup } = supervised({ stopTimeoutMs: 300 });
  await sup.start({ name: 'stubborn', spawn: () => node(`process.on('SIGTERM', () => {}); ${STAY}`), ready: upPrinted });
  const c = sup.child('stubborn')!;
  const t0 = Date.now();
  await sup.stop();
  assert.equal(c.signalCode, 'SIGKILL');
  assert.ok(Date.now() - t0 >= 290, 'SIGTERM had its chance first');
});

test('a child that exits before it is ready fails start(), is not restarted, and stop() ends those already started', async () => {
  const { sup, lines } = supervised({ minBackoffMs: 10 });
  await sup.start({ name: 'first', spawn: () => node(STAY), ready: upPrinted });
  const first = sup.child('first')!;
  // Its readiness would never come: only its exit ends the wait.
  await assert.rejects(sup.start({ name: 'broken', spawn: () => node('process.exit(2)'), ready: () => new Promise(() => {}) }), /broken exited during start-up \(exit code 2\)/);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(sup.child('broken'), undefined, 'not restarted');
  assert.equal(lines.length, 0);
  await sup.stop();
  assert.equal(first.signalCode, 'SIGTERM');
});
