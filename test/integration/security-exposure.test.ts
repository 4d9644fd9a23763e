/**
 * What a fresh server exposes, and to whom: the generated token beyond loopback, the Host allow-list against
 * DNS rebinding, same-origin WebSockets against cross-site hijacking, and the per-address share of clients.
 * Loopback addresses stand in for hosts; every attack runs with an honest client alongside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { connect } from '../../src/client/client.js';
import { describeEndpoints, parseServeArgs } from '../../src/cli/serve.js';
import { MessageType } from '../../src/protocol/constants.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import { DEFAULT_SERVER_CONFIG } from '../../src/server/config.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { startServer } from '../../src/server/server.js';
import { TestPatternSource } from '../../src/sources/testpattern.js';
import { silentLogger } from '../../src/log.js';
import { take } from '../helpers/client.js';
import { helloFrom, hostAddress, httpFrom } from '../helpers/peers.js';
import { startTestServer, waitUntil, within } from '../helpers/server.js';

test('a fresh `serve` listening beyond loopback requires a generated token, printed inside the URLs', async () => {
  const { config, token } = parseServeArgs(['--port', '0', '--http-port', '8080'], {})!;
  assert.equal(config.host, '0.0.0.0', 'the default still listens on every interface');
  assert.equal(token.kind, 'generated');
  assert.match(config.token ?? '', /^[A-Za-z0-9_-]{24}$/, '144 random bits');
  assert.notEqual(parseServeArgs([], {})!.config.token, config.token, 'a new one every run');
  // Served on loopback here (tests do not listen beyond it), with the configuration `serve` built.
  const server = await startServer({ ...config, host: '127.0.0.1', httpPort: 0, log: silentLogger }, new TestPatternSource({ width: 320, height: 180, fps: 30 }), {
    extras: [httpTransport()],
  });
  try {
    const http = server.extras[0]!.port;
    const text = describeEndpoints(server, null, token);
    const browser = new RegExp(`browser: +http://127\\.0\\.0\\.1:${http}/\\?token=([A-Za-z0-9_-]+)`).exec(text);
    assert.ok(browser, text);
    assert.equal(browser[1], config.token);
    assert.match(text, new RegExp(`ffplay "http://127\\.0\\.0\\.1:${http}/stream\\.mjpg\\?token=${config.token}"`));
    assert.match(text, new RegExp(`FRAMEWIRE_TOKEN=${config.token} npx framewire view tcp://127\\.0\\.0\\.1:${server.tcp.port}`));
    assert.match(text, /--allow-seed-clients serves them/, 'says how tutorial clients can be let in');
    for (const path of ['/api/status', '/snapshot.jpg', '/stream.mjpg', '/metrics']) assert.equal((await httpFrom(http, path)).status, 401, path);
    assert.equal((await helloFrom(server.tcp.port, '127.0.0.1', '')).result, 'E_AUTH');
    assert.equal((await httpFrom(http, `/snapshot.jpg?token=${config.token}`)).status, 200, 'the printed token works');
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { token: config.token!, width: 160, height: 90 });
    assert.equal((await take(c, 2)).length, 2);
    await c.close();
  } finally {
    await server.close();
  }
});

test('no token on loopback; --no-token opts out loudly; a weak token is refused unless allowed', () => {
  assert.equal(parseServeArgs(['--host', '127.0.0.1'], {})!.config.token, null);
  assert.equal(parseServeArgs(['--host', '::1'], {})!.config.token, null);
  const off = parseServeArgs(['--no-token'], {})!;
  assert.equal(off.config.token, null);
  assert.equal(off.token.kind, 'disabled');
  assert.equal(parseServeArgs([], { FRAMEWIRE_TOKEN: 'correct horse battery staple' })!.config.token, 'correct horse battery staple');
  assert.throws(() => parseServeArgs(['--token', 'a'], {}), /E_BAD_PARAMS|too weak/);
  assert.throws(() => parseServeArgs([], { FRAMEWIRE_TOKEN: 's3cret' }), /too weak.*6 characters/);
  const weak = parseServeArgs(['--token', 's3cret', '--allow-weak-token'], {})!;
  assert.equal(weak.config.token, 's3cret');
  assert.match(weak.token.weak ?? '', /6 characters/);
  assert.throws(() => parseServeArgs(['--no-token', '--token', 'correct horse battery staple'], {}), /contradicts/);
});

/** Send a raw request and return the status code (fetch() will not send a foreign Host). */
function rawStatus(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) {
        resolve(Number(m[1]));
        s.destroy();
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed without a status line: ${JSON.stringify(got)}`)));
    s.setTimeout(10_000, () => s.destroy(new Error('no answer')));
  });
}

test('DNS rebinding: a request naming a foreign Host is refused; IP literals, localhost and --hostname are answered', async () => {
  const server = await startTestServer({ httpPort: 0, hostnames: ['camera.example.org'] }, { extras: [httpTransport()] });
  try {
    const port = server.extras[0]!.port;
    const get = (path: string, host: string) => rawStatus(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    for (const path of ['/api/status', '/snapshot.jpg', '/metrics', '/', '/healthz']) {
      assert.equal(await get(path, `evil.example:${port}`), 403, `${path} for evil.example`);
    }
    const upgrade = `GET /ws HTTP/1.1\r\nHost: evil.example:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    assert.equal(await rawStatus(port, upgrade), 403, 'the WebSocket too');
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `camera.example.org:${port}`, 'CAMERA.example.org.', `app.localhost:${port}`]) {
      assert.equal(await get('/api/status', host), 200, host);
    }
  } finally {
    await server.close();
  }
});

function wsOpen(url: string, origin?: string): Promise<{ ws: WebSocket } | { refused: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ refused: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

test('cross-site WebSocket hijacking: a page from another origin cannot open /ws; the page\'s own origin and --allow-origin can', async () => {
  const server = await startTestServer({ httpPort: 0, allowOrigins: ['https://dash.example.org'] }, { extras: [httpTransport()] });
  try {
    const port = server.extras[0]!.port;
    const url = `ws://127.0.0.1:${port}/ws`;
    for (const origin of ['http://evil.example', `http://127.0.0.2:${port}`, `http://127.0.0.1:${port + 1}`, 'null']) {
      assert.deepEqual(await wsOpen(url, origin), { refused: 403 }, origin);
    }
    for (const origin of [`http://127.0.0.1:${port}`, 'https://dash.example.org', undefined]) {
      const r = await wsOpen(url, origin);
      assert.ok('ws' in r, `${origin} may open it`);
      const frames = new Promise<void>((resolve) => r.ws.on('message', (d: Buffer) => d[0] === MessageType.FRAME && resolve()));
      r.ws.send(encodeMessage({ type: 'hello', version: 1, width: 160, height: 90, fps: 5, quality: 50, token: '' }));
      await within(frames, 10_000, `a frame over the ${origin ?? 'origin-less'} WebSocket`);
      r.ws.terminate();
    }
  } finally {
    await server.close();
  }
});

test('one address cannot take every slot: past the per-address default it is refused, and a viewer from elsewhere gets in', async () => {
  // Before: --max-clients-per-address defaulted to --max-clients, so one address's idle clients filled the server.
  const perAddress = DEFAULT_SERVER_CONFIG.maxClientsPerAddress;
  assert.equal(perAddress, 20);
  const server = await startTestServer({ maxClients: perAddress + 10 });
  const held: net.Socket[] = [];
  try {
    const flooder = hostAddress(0);
    const answers: string[] = [];
    for (let i = 0; i < perAddress + 10; i++) {
      // Clients that never read: each says hello and then sits on its slot.
      const s = net.connect({ host: '127.0.0.1', port: server.tcp.port, localAddress: flooder });
      s.on('error', () => {});
      held.push(s);
      s.write(encodeMessage({ type: 'hello', version: 1, width: 160, height: 90, fps: 5, quality: 50, token: '' }));
      answers.push(
        await within(
          new Promise<string>((resolve) => {
            s.once('data', (c: Buffer) => resolve(c[0] === MessageType.ACCEPT ? 'accept' : 'refused'));
            s.once('close', () => resolve('closed'));
          }),
          5000,
          `answer to client ${i}`,
        ),
      );
      s.pause();
    }
    assert.equal(answers.filter((a) => a === 'accept').length, perAddress);
    await waitUntil(() => server.registry.size === perAddress, 5000, 'the flooder holds its share only');
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: 160, height: 90 });
    assert.equal((await take(c, 3)).length, 3, 'the honest viewer streams');
    await c.close();
  } finally {
    for (const s of held) s.destroy();
    await server.close();
  }
});
