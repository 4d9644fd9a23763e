/**
 * A network camera that goes away and comes back, with credentials in its URL: the operator sees every source
 * event in the log and in /healthz; viewers are told, without the upstream's user, password or query string;
 * nothing stale is served as current.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import sharp from 'sharp';
import { connect } from '../../src/client/client.js';
import type { StatusMessage } from '../../src/protocol/messages.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { createSource, parseSourceSpec } from '../../src/sources/spec.js';
import { take } from '../helpers/client.js';
import { httpFrom, recordingLogger } from '../helpers/peers.js';
import { startTestServer, waitUntil, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

const SECRETS = ['password', 'upstreamsecret', 'camuser'];

/**
 * An MJPEG camera on loopback, 10 fps. down() resets every connection and, until up(), every new one (the
 * port stays ours, so no other process can take it in between).
 */
async function upstreamCamera(): Promise<{ port: number; down(): void; up(): void; close(): Promise<void> }> {
  const jpeg = await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 200, g: 60, b: 40 } } }).jpeg().toBuffer();
  const part = Buffer.concat([Buffer.from(`--fwb\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`), jpeg, Buffer.from('\r\n')]);
  let serving = true;
  const sockets = new Set<net.Socket>();
  const players = new Set<http.ServerResponse>();
  // One ticker for every player, stopped by close(): a player's own 'close' may never come if its socket was
  // reset while its request was being parsed, and a timer per player would then keep the test process alive.
  const ticker = setInterval(() => {
    for (const res of players) res.write(part);
  }, 100);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=fwb' });
    players.add(res);
    res.on('close', () => players.delete(res));
  });
  server.on('connection', (c: net.Socket) => {
    if (!serving) return c.resetAndDestroy();
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const resetAll = (): void => {
    for (const c of sockets) c.resetAndDestroy();
    players.clear();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    down: () => {
      serving = false;
      resetAll();
    },
    up: () => {
      serving = true;
    },
    close: async () => {
      clearInterval(ticker);
      const closed = new Promise((r) => server.close(r));
      resetAll();
      await closed;
    },
  };
}

const leaks = (text: string): string[] => SECRETS.filter((s) => text.includes(s));

test('a url: source that fails and recovers: logged, told to viewers and /healthz, with its credentials redacted everywhere', async (t) => {
  if (!requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg')) return;
  const cam = await upstreamCamera();
  const url = `http://camuser:password@127.0.0.1:${cam.port}/cam.mjpg?token=upstreamsecret`;
  const request = { width: 160, height: 120, fps: 10 };
  const { lines, log } = recordingLogger();
  const source = createSource(parseSourceSpec(`url:${url}`), request, { stallSeconds: 2 });
  const server = await startTestServer({ httpPort: 0, log, defaults: { ...request, quality: 70 } }, { source, extras: [httpTransport()] });
  const http = server.extras[0]!.port;
  const statuses: StatusMessage[] = [];
  let onStatus = (): void => {};
  try {
    const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, {
      onStatus: (_text, s) => {
        if (s) statuses.push(s);
        onStatus();
      },
    });
    await within(take(c, 3), 10_000, 'first frames');
    assert.deepEqual(leaks(c.accepted.source), [], `ACCEPT source: ${c.accepted.source}`);
    assert.match(c.accepted.source, /^url http:\/\/\*\*\*@127\.0\.0\.1:\d+\/cam\.mjpg\?\*\*\*$/);
    assert.deepEqual(leaks((await httpFrom(http, '/api/status')).body), [], '/api/status');
    assert.equal((await httpFrom(http, '/healthz')).status, 200);

    const lost = new Promise<void>((resolve) => (onStatus = () => statuses.some((s) => s.status === 1) && resolve()));
    cam.down();
    await within(lost, 15_000, 'STATUS source lost');
    const lostText = statuses.find((s) => s.status === 1)!.text;
    assert.deepEqual(leaks(lostText), [], `STATUS sent to viewers: ${lostText}`);
    assert.match(lostText, /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/cam\.mjpg\?\*\*\*/, 'the redacted URL still says which input failed');

    // While it is down: health says what is wrong, nothing stale is served, a new player is told at once.
    const health = await httpFrom(http, '/healthz');
    assert.equal(health.status, 503);
    assert.match(health.body, /^E_SOURCE: source lost [\d.]+ s ago: /);
    assert.deepEqual(leaks(health.body), []);
    const snap = await httpFrom(http, '/snapshot.jpg');
    assert.equal(snap.status, 503, 'no stale snapshot served as current');
    const player = await within(httpFrom(http, '/stream.mjpg'), 3000, 'an answer to a new MJPEG client');
    assert.equal(player.status, 503);
    assert.ok(player.headers['retry-after']);
    const status = JSON.parse((await httpFrom(http, '/api/status')).body) as { source: { state: string; problem: string } };
    assert.equal(status.source.state, 'lost');
    assert.deepEqual(leaks(JSON.stringify(status)), []);
    await waitUntil(() => lines.some((l) => /restart failed/.test(l)), 15_000, 'a failed restart is logged');

    const resumed = new Promise<void>((resolve) => (onStatus = () => statuses.some((s) => s.status === 2) && resolve()));
    cam.up();
    await within(resumed, 20_000, 'STATUS source resumed');
    await within(take(c, 3), 10_000, 'frames again');
    await waitUntil(async () => (await httpFrom(http, '/healthz')).status === 200, 5000, '/healthz ok again');
    await c.close();

    const metrics = (await httpFrom(http, '/metrics')).body;
    assert.deepEqual(leaks(metrics), [], '/metrics');
    const logged = lines.join('\n');
    assert.match(logged, /error E_SOURCE: source lost: ffmpeg exited/, 'the loss is logged');
    assert.match(logged, /restart failed: ffmpeg exited/, 'each failed restart is logged');
    assert.match(logged, /info source resumed: ffmpeg delivering frames again/, 'the recovery is logged');
    assert.deepEqual(leaks(logged), [], `the log:\n${logged}`);
  } finally {
    await server.close();
    await within(cam.close(), 5000, 'the camera closed');
  }
});
