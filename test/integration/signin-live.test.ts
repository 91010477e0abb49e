// The session cookie over real sockets: a plain HTTP request carrying only the cookie downloads the rollups CSV
// (so a link on the page works), and socket.io accepts the cookie instead of a token and is closed the moment the
// user is disabled.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { io as connect, type Socket } from 'socket.io-client';
import type { NewFirm } from '../../common/registry/registry.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { offlineApi, type OfflineApi } from '../helpers/offline-api.ts';
import { testFirm } from '../helpers/system.ts';

const ADMIN = 'at_signin_live_admin_token_0000000';
const A: NewFirm = testFirm({ name: 'A 纺织' });

/** No InfluxDB here: no rollups and nothing pending, which is all the CSV needs for this test. */
class NoRollups extends InfluxStore {
  override async rollupRows(): Promise<[]> { return []; }
  override async dirtyQuarters(): Promise<[]> { return []; }
}

let api: OfflineApi;
let base: string;
const sockets: Socket[] = [];

before(async () => {
  api = await offlineApi('signin-live', {
    live: new EventEmitter(),
    store: new NoRollups({ url: 'http://127.0.0.1:9', db: 'x', timeoutMs: 500 }),
  }, async (r) => {
    await r.ensureApiToken(ADMIN, 'admin', null, 'admin (ADMIN_TOKEN)');
    await r.createFirm(A);
  });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  for (const s of sockets) s.close();
  await api.close();
});

async function userWithSession(login: string): Promise<{ id: string; cookie: string }> {
  const created = await fetch(`${base}/api/v1/users`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ login, displayName: '张工', role: 'engineer', firmId: A.id, password: 'engineer-password-1' }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const r = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login, password: 'engineer-password-1' }) });
  assert.equal(r.status, 200);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { id: ((await r.json()) as { user: { id: string } }).user.id, cookie };
}

test('a request carrying only the session cookie downloads the rollups CSV', async () => {
  const { cookie } = await userWithSession('csv.user');
  const url = `${base}/api/v1/energy/rollups.csv?scope=firm&id=${A.id}&from=2026-12-01&to=2026-12-01`;
  const r = await fetch(url, { headers: { cookie } });
  assert.equal(r.status, 200, await r.clone().text());
  assert.match(r.headers.get('content-type') ?? '', /^text\/csv/);
  // Readable names: the ASCII one and the Chinese one, both with the local dates of the range (1 December only).
  const disposition = r.headers.get('content-disposition') ?? '';
  assert.match(disposition, new RegExp(`attachment; filename="energy-15min-firm-${A.id}-2026-12-01_2026-12-01\\.csv"`));
  assert.equal(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)?.[1] ?? ''), `德宏-能耗-15分钟-企业-${A.id}-2026-12-01至2026-12-01.csv`);
  assert.match(await r.text(), /^firm_id,firm_name,/);
  assert.equal((await fetch(url)).status, 401, 'without the cookie: no CSV');
});

test('socket.io accepts the session cookie and is closed when the user is disabled', async () => {
  const { id, cookie } = await userWithSession('live.user');
  const refused = connect(base, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie: 'dh_session=ss_not_a_session' } });
  sockets.push(refused);
  const refusal = await new Promise<Error>((resolve) => refused.once('connect_error', resolve));
  assert.match(refusal.message, /session has ended/);

  const s = connect(base, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie } });
  sockets.push(s);
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });
  const told = new Promise<{ message: string }>((resolve) => s.once('revoked', resolve));
  const gone = new Promise<void>((resolve) => s.once('disconnect', () => resolve()));
  const r = await fetch(`${base}/api/v1/users/${id}`, {
    method: 'PATCH', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ disabled: true }),
  });
  assert.equal(r.status, 200);
  assert.match((await told).message, /session has ended/);
  await gone;
  assert.equal(s.connected, false);
});
