// What the API writes to its log: at the default level (info) no line per request, so warnings and errors stand
// out; at debug one line per request naming the route (not the query string, which may carry names or ids), the
// status and the time.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { offlineApi } from '../helpers/offline-api.ts';

async function logLines(level: string): Promise<Array<Record<string, unknown>>> {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  const admin = 'at_admin_for_logging_tests_000';
  const api = await offlineApi(`api-log-${level}`, { log: pino({ level }, sink) }, async (r) => { await r.ensureApiToken(admin, 'admin', null, 'admin'); });
  try {
    for (let i = 0; i < 10; i++) await api.app.inject({ method: 'GET', url: '/api/v1/firms?secret=x', headers: { authorization: `Bearer ${admin}` } });
    await api.app.inject({ method: 'GET', url: '/api/v1/firms' });
    return lines;
  } finally {
    await api.close();
  }
}

describe('API request log', () => {
  test('at info: no line per request', async () => {
    const lines = await logLines('info');
    assert.deepEqual(lines.filter((l) => /request|response/.test(String(l.msg))), []);
  });

  test('at debug: one line per request with route, status and time, without the query string', async () => {
    const lines = (await logLines('debug')).filter((l) => l.msg === 'request');
    assert.equal(lines.length, 11);
    assert.deepEqual(lines.map((l) => l.status), [...Array(10).fill(200), 401]);
    for (const l of lines) {
      assert.equal(l.url, '/api/v1/firms');
      assert.equal(l.method, 'GET');
      assert.equal(typeof l.ms, 'number');
    }
  });
});
