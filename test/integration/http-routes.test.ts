/** The HTTP routes on loopback: snapshot, status, metrics (checked by promtool), token, limits, errors. */
import assert from 'node:assert/strict';
import { testConfig } from '../helpers/server.js';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { startServer, TestPatternSource, type RunningServer, type ServerConfig } from '../../src/index.js';
import type { AuthLimits } from '../../src/server/auth-limiter.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import type { StatusReport } from '../../src/server/http/status-report.js';
import { assertPromtoolClean } from '../helpers/tools.js';

before(async () => {
  // The viewer route serves the bundle: build it as `npm run build` would.
  await promisify(execFile)(process.execPath, ['scripts/build-web.mjs']);
});

async function startHttp(
  overrides: Partial<ServerConfig> = {},
  authLimits: Partial<AuthLimits> = {},
): Promise<{ server: RunningServer; base: string; port: number }> {
  const config: ServerConfig = testConfig({ httpPort: 0, ...overrides });
  const server = await startServer(config, new TestPatternSource(config.defaults), { extras: [httpTransport()], authLimits });
  const port = server.extras[0]!.port;
  return { server, base: `http://127.0.0.1:${port}`, port };
}

/** Send raw bytes, return the status line of the answer (for requests fetch() refuses to make). */
function rawStatus(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      const eol = got.indexOf('\r\n');
      if (eol >= 0) {
        resolve(got.slice(0, eol));
        s.destroy();
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed without a status line: ${JSON.stringify(got)}`)));
    s.setTimeout(10_000, () => s.destroy(new Error('no answer within 10 s')));
  });
}

describe('without a token', () => {
  let server: RunningServer;
  let base: string;
  let port: number;
  before(async () => ({ server, base, port } = await startHttp()));
  after(() => server.close());

  test('/snapshot.jpg returns a JPEG of the asked size', async () => {
    const r = await fetch(`${base}/snapshot.jpg?width=400&height=224&quality=50`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/jpeg');
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(Number(r.headers.get('content-length')), body.length);
    const meta = await sharp(body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 400, 224]);
    // Without parameters: the server default.
    const r2 = await fetch(`${base}/snapshot.jpg`);
    const m2 = await sharp(Buffer.from(await r2.arrayBuffer())).metadata();
    assert.deepEqual([m2.width, m2.height], [640, 360]);
  });

  test('/api/status describes the source, profiles and clients', async () => {
    // One MJPEG client, so there is a profile and a client to report.
    const ac = new AbortController();
    const stream = await fetch(`${base}/stream.mjpg?width=320&height=180&fps=10`, { signal: ac.signal });
    const reader = stream.body!.getReader();
    await reader.read();
    try {
      const r = await fetch(`${base}/api/status`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      const s = (await r.json()) as StatusReport;
      assert.equal(s.source.description, 'testpattern 640x360@30');
      assert.deepEqual([s.source.width, s.source.height, s.source.fps, s.source.state], [640, 360, 30, 'running']);
      assert.equal(typeof s.uptimeSeconds, 'number');
      assert.ok(s.uptimeSeconds >= 0);
      assert.ok(s.memoryMb.rss > 0 && s.memoryMb.heapUsed > 0 && s.memoryMb.heapUsed <= s.memoryMb.heapTotal, 'memory breakdown');
      assert.ok(s.framesCaptured > 0);
      const p = s.profiles.find((x) => x.width === 320 && x.height === 180);
      assert.ok(p, JSON.stringify(s.profiles));
      assert.equal(p.subscribers, 1);
      assert.equal(s.clients.length, 1);
      const c = s.clients[0]!;
      assert.equal(c.protocol, 'mjpeg');
      assert.equal(c.address, '127.0.0.1');
      assert.deepEqual([c.width, c.height, c.fps], [320, 180, 10]);
      for (const k of ['sent', 'dropped', 'bytes', 'connectedSeconds', 'quality', 'id'] as const) assert.equal(typeof c[k], 'number', k);
    } finally {
      ac.abort();
      await reader.cancel().catch(() => {});
    }
  });

  test('/metrics is Prometheus text that promtool accepts, with the framewire series', async (t) => {
    // Make sure frames were encoded and sent, so the counters have something to count.
    const snap = await fetch(`${base}/snapshot.jpg`);
    await snap.arrayBuffer();
    const ac = new AbortController();
    const stream = await fetch(`${base}/stream.mjpg?width=160&height=96`, { signal: ac.signal });
    const reader = stream.body!.getReader();
    await reader.read();
    const r = await fetch(`${base}/metrics`);
    ac.abort();
    await reader.cancel().catch(() => {});
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    // At least this test's reader (an earlier test's aborted one may not have been reaped yet).
    assert.match(text, /^framewire_clients\{protocol="mjpeg"\} [1-9]$/m);
    for (const name of [
      'framewire_frames_captured_total',
      'framewire_frames_encoded_total{profile="160x96q75"}',
      'framewire_frames_sent_total',
      'framewire_frames_dropped_total',
      'framewire_bytes_sent_total',
      'framewire_encode_seconds_bucket',
      'framewire_source_restarts_total 0',
      'framewire_source_lost_total 0',
      'framewire_source_up 1',
    ]) {
      assert.ok(text.includes(name), `metrics include ${name}`);
    }
    await assertPromtoolClean(t, text);
  });

  test('/healthz says ok; / serves the viewer page with its script', async () => {
    const h = await fetch(`${base}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(await h.text(), 'ok\n');
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(await page.text(), /<script type="module" src="viewer\.js">/);
    const js = await fetch(`${base}/viewer.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.ok((await js.text()).length > 1000);
    const css = await fetch(`${base}/viewer.css`);
    assert.equal(css.status, 200);
  });

  test('unknown routes are 404, other methods 405, a GET on /ws is 426', async () => {
    const r = await fetch(`${base}/nope`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /No such page: \/nope/);
    assert.equal((await fetch(`${base}/../etc/passwd`)).status, 404);
    const p = await fetch(`${base}/api/status`, { method: 'POST', body: 'x' });
    assert.equal(p.status, 405);
    assert.equal(p.headers.get('allow'), 'GET, HEAD');
    assert.equal((await fetch(`${base}/snapshot.jpg`, { method: 'DELETE' })).status, 405);
    assert.equal((await fetch(`${base}/ws`)).status, 426);
  });

  test('bad snapshot parameters are 400 naming the parameter', async () => {
    const r = await fetch(`${base}/snapshot.jpg?quality=200`);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /^E_BAD_PARAMS: quality must be from 1 to 100, got 200/);
  });

  test('limits: a long URL is 414, oversized headers 431', async () => {
    const long = await fetch(`${base}/snapshot.jpg?pad=${'x'.repeat(2100)}`);
    assert.equal(long.status, 414);
    const okLong = await fetch(`${base}/healthz?pad=${'x'.repeat(1900)}`);
    assert.equal(okLong.status, 200);
    const line = await rawStatus(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(9000)}\r\n\r\n`);
    assert.match(line, /^HTTP\/1\.1 431 /);
  });
});

describe('with a token', () => {
  let server: RunningServer;
  let base: string;
  before(async () => ({ server, base } = await startHttp({ token: 's3cret' })));
  after(() => server.close());

  test('data routes need the token: 401 without, 200 with Bearer or ?token=', async () => {
    for (const path of ['/api/status', '/metrics', '/snapshot.jpg', '/stream.mjpg']) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 401, path);
      assert.match(await r.text(), /requires a token/, path);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    const wrong = await fetch(`${base}/api/status?token=nope`);
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /Wrong token/);
    assert.equal(server.auth.limiter.isSuspect('127.0.0.1'), true, 'the wrong token is charged to the address');

    const bearer = await fetch(`${base}/api/status`, { headers: { Authorization: 'Bearer s3cret' } });
    assert.equal(bearer.status, 200);
    await bearer.arrayBuffer();
    const query = await fetch(`${base}/snapshot.jpg?token=s3cret&width=64&height=64`);
    assert.equal(query.status, 200);
    assert.equal((await sharp(Buffer.from(await query.arrayBuffer())).metadata()).width, 64);
  });

  test('/healthz and the viewer page need no token (the page asks for it)', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/`)).status, 200);
  });
});

describe('rate limited', () => {
  let server: RunningServer;
  let base: string;
  before(async () => ({ server, base } = await startHttp({ token: 't' }, { perNetworkBurst: 2, perNetworkIntervalMs: 400, maxWaitingPerNetwork: 2 })));
  after(() => server.close());

  test('past the budget a wrong token waits its turn, more waiting get 429 with Retry-After, and the right token still gets in; /healthz answers', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await fetch(`${base}/api/status?token=guess${i}`)).status, 401);
    const t0 = performance.now();
    assert.equal((await fetch(`${base}/api/status?token=guess2`)).status, 401);
    assert.ok(performance.now() - t0 >= 300, `the third wrong token waited for the address's next turn (${Math.round(performance.now() - t0)} ms)`);
    const burst = await Promise.all([3, 4, 5, 6].map((i) => fetch(`${base}/api/status?token=guess${i}`)));
    assert.deepEqual(burst.map((r) => r.status).sort(), [401, 401, 429, 429], 'two wait their turn, the rest are refused at once');
    const limited = burst.find((r) => r.status === 429)!;
    assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
    assert.match(await limited.text(), /E_RATE_LIMITED/);
    const right = await fetch(`${base}/api/status?token=t`);
    assert.equal(right.status, 200, 'the right token is slowed, never refused');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});
