// Guessing API tokens is throttled per client address: unknown tokens on the REST API and in socket.io handshakes
// count together; past API_AUTH_FAILURES_PER_MINUTE the address gets 429 with Retry-After (socket.io: a refused
// handshake saying when to retry) for the rest of the minute, logged once. Other addresses are not affected.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { io as ioClient } from 'socket.io-client';
import { buildApp } from '../../api/app.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { tempDir } from '../helpers/system.ts';

const LIMIT = 5;
const admin = 'at_admin_for_throttle_tests_0000';
const dir = tempDir('throttle');
let registry: SqliteRegistry;
let spool: SqliteSpool;
const lines: string[] = [];

/** An app with its own throttle (each has one), listening on every address so 127.0.0.1 and ::1 are two clients. */
async function newApp(): Promise<{ app: FastifyInstance; port: number }> {
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)); done(); } });
  const app = await buildApp({
    registry, spool, store: new InfluxStore({ url: 'http://127.0.0.1:9', db: 'x', timeoutMs: 500 }), log: pino({ level: 'warn' }, sink),
    connectedWindowDays: 30, live: new EventEmitter(), apiAuthFailuresPerMinute: LIMIT,
  });
  await app.listen({ port: 0, host: '::' });
  const addr = app.server.address();
  return { app, port: typeof addr === 'object' && addr ? addr.port : 0 };
}

/** The socket.io handshake's outcome: 'connected' or the refusal's message. */
function handshake(url: string, token: string): Promise<string> {
  return new Promise((resolve) => {
    const s = ioClient(url, { auth: { token }, transports: ['websocket'], reconnection: false });
    s.once('connect', () => { s.close(); resolve('connected'); });
    s.once('connect_error', (e) => { s.close(); resolve(e.message); });
  });
}

const refusals = () => lines.filter((l) => l.includes('too many unknown API tokens')).map((l) => JSON.parse(l) as { address: string; via: string });

before(async () => {
  registry = new SqliteRegistry(path.join(dir, 'r.db'));
  spool = new SqliteSpool(path.join(dir, 's.db'));
  await registry.ensureApiToken(admin, 'admin', null, 'admin');
  // The window is the wall-clock minute: start well inside one so no test straddles a reset.
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((r) => setTimeout(r, left + 100));
});
after(async () => {
  await registry.close();
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('failed API authentications per address', () => {
  test('REST: past the limit the address gets 429 with Retry-After, valid token or not; other addresses do not; logged once', async () => {
    const { app } = await newApp();
    try {
      const call = (token: string, remoteAddress = '127.0.0.1') => app.inject({ method: 'GET', url: '/api/v1/me', remoteAddress, headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < LIMIT; i++) assert.equal((await call(`at_guess_${i}_0000000000000000`)).statusCode, 401, `guess ${i}`);
      for (const token of ['at_guess_more_000000000000000', admin]) {
        const r = await call(token);
        assert.equal(r.statusCode, 429, token);
        assert.match(r.json<{ message: string }>().message, /too many failed authentications from this address; retry after \d+ s/);
        const wait = Number(r.headers['retry-after']);
        assert.ok(wait >= 1 && wait <= 60, `Retry-After ${r.headers['retry-after']}`);
      }
      assert.equal((await call(admin, '10.0.0.7')).statusCode, 200, 'a valid token from another address');
      assert.equal((await call('at_guess_elsewhere_00000000000', '10.0.0.8')).statusCode, 401, 'another address has its own count');
      assert.deepEqual(refusals().map((r) => [r.address, r.via]), [['127.0.0.1', 'api']]);
    } finally {
      await app.close();
    }
  });

  test('socket.io: past the limit the handshake is refused with "retry after"; REST counts for the same address; ::1 unaffected', async () => {
    lines.length = 0;
    const { app, port } = await newApp();
    try {
      const v4 = `http://127.0.0.1:${port}`;
      const v6 = `http://[::1]:${port}`;
      for (let i = 0; i < LIMIT - 1; i++) assert.equal(await handshake(v4, `at_guess_${i}_0000000000000000`), 'unknown API token');
      // One more unknown token over REST from the same address reaches the limit: REST and socket.io count together.
      assert.equal((await fetch(`${v4}/api/v1/me`, { headers: { authorization: 'Bearer at_guess_rest_0000000000000' } })).status, 401);
      assert.match(await handshake(v4, 'at_guess_more_000000000000000'), /too many failed authentications from this address; retry after \d+ s/);
      assert.match(await handshake(v4, admin), /retry after/, 'a refused address is refused before its token is looked at');
      const rest = await fetch(`${v4}/api/v1/me`, { headers: { authorization: `Bearer ${admin}` } });
      assert.equal(rest.status, 429);
      assert.ok(Number(rest.headers.get('retry-after')) >= 1);
      assert.equal(await handshake(v6, admin), 'connected', 'another address connects with a valid token');
      assert.equal(await handshake(v6, 'at_guess_v6_00000000000000000'), 'unknown API token');
      assert.deepEqual(refusals().map((r) => r.address), ['::ffff:127.0.0.1']);
    } finally {
      await app.close();
    }
  });
});
