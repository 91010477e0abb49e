// An open socket.io live connection does not outlive its API token: once the token is revoked or has expired, the
// periodic check (closeRevoked, every TOKEN_RECHECK_MS) tells the client why and disconnects it; other clients stay.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { io as connect, type Socket } from 'socket.io-client';
import { AuthThrottle } from '../../api/auth.ts';
import { attachLive, closeRevoked } from '../../api/live.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { createLogger } from '../../common/log.ts';
import { tempDir } from '../helpers/system.ts';
import path from 'node:path';

const log = createLogger('live-revocation', 'silent');
const registry = new SqliteRegistry(path.join(tempDir('revoke'), 'r.db'));
const server = http.createServer();
const io = attachLive(server, registry, new EventEmitter(), log, new AuthThrottle(30, log));
const clients: Socket[] = [];

/** The first arguments of the next `event` on a socket.io client socket. */
function next(socket: Socket, event: string): Promise<unknown> {
  return new Promise((resolve) => socket.once(event, resolve));
}

after(async () => {
  for (const c of clients) c.close();
  await io.close();
  await registry.close();
});

async function connected(token: string): Promise<Socket> {
  const { port } = server.address() as AddressInfo;
  const c = connect(`http://127.0.0.1:${port}`, { auth: { token }, transports: ['websocket'], reconnection: false });
  clients.push(c);
  await next(c, 'connect');
  return c;
}

test('a revoked or expired token loses its live connection at the next check; a valid one keeps it', async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kept = await registry.createApiToken('bureau', null, 'stays');
  const revoked = await registry.createApiToken('bureau', null, 'revoked');
  const expiring = await registry.createApiToken('bureau', null, 'expiring', { expiresAt: Date.now() + 1500 });
  const [a, b, c] = await Promise.all([connected(kept.token), connected(revoked.token), connected(expiring.token)]);
  assert.equal(await closeRevoked(io, registry, log), 0, 'nothing to close while every token is valid');

  await registry.revokeApiToken(revoked.principal.tokenId);
  await new Promise((r) => setTimeout(r, 1600)); // past the third token's expiry
  const told = [next(b, 'revoked'), next(c, 'revoked')];
  const gone = [next(b, 'disconnect'), next(c, 'disconnect')];
  assert.equal(await closeRevoked(io, registry, log), 2);
  const messages = (await Promise.all(told)).map((m) => (m as { message: string }).message);
  assert.ok(messages.every((m) => /revoked or has expired/.test(m)), messages.join(' | '));
  await Promise.all(gone);
  assert.equal(a.connected, true, 'the valid token keeps its connection');
  assert.equal(b.connected || c.connected, false);
});
