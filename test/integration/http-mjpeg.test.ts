/** MJPEG over HTTP on loopback: real parts, real players (ffprobe), and a slow reader that slows nobody. */
import assert from 'node:assert/strict';
import { testConfig } from '../helpers/server.js';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { startServer, TestPatternSource, type RunningServer, type ServerConfig } from '../../src/index.js';
import type { StatusReport } from '../../src/server/http/status-report.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { requireTool } from '../helpers/tools.js';

let server: RunningServer;
let base: string;

before(async () => {
  const config: ServerConfig = testConfig({ httpPort: 0 });
  server = await startServer(config, new TestPatternSource(config.defaults), { extras: [httpTransport()] });
  base = `http://127.0.0.1:${server.extras[0]!.port}`;
});
after(() => server.close());

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** Poll a condition (each poll is a real request); the deadline turns a hang into a failure. */
async function waitFor<T>(probe: () => Promise<T | null>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setTimeout(r, 50));
  }
}

async function status(): Promise<StatusReport> {
  const r = await fetch(`${base}/api/status`);
  assert.equal(r.status, 200);
  return (await r.json()) as StatusReport;
}

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A minimal multipart/x-mixed-replace reader: calls onPart for each complete part; checks the framing
 * strictly (boundary line, Content-Length, CRLF after the body) so a malformed stream fails the test.
 */
function readParts(res: http.IncomingMessage, onPart: (p: Part) => void): void {
  const ct = res.headers['content-type'] ?? '';
  const m = /^multipart\/x-mixed-replace;\s*boundary=(.+)$/.exec(ct);
  assert.ok(m, `content-type ${ct}`);
  const delimiter = Buffer.from(`--${m[1]}\r\n`);
  let buf = Buffer.alloc(0);
  res.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < delimiter.length) return;
      assert.ok(buf.subarray(0, delimiter.length).equals(delimiter), `part starts with the boundary: ${buf.subarray(0, 40).toString('latin1')}`);
      const headEnd = buf.indexOf('\r\n\r\n', delimiter.length);
      if (headEnd < 0) return;
      const headers: Record<string, string> = {};
      for (const line of buf.subarray(delimiter.length, headEnd).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const len = Number(headers['content-length']);
      assert.ok(Number.isInteger(len) && len > 0, `content-length ${headers['content-length']}`);
      const bodyStart = headEnd + 4;
      if (buf.length < bodyStart + len + 2) return;
      assert.equal(buf.subarray(bodyStart + len, bodyStart + len + 2).toString('latin1'), '\r\n');
      onPart({ headers, body: Buffer.from(buf.subarray(bodyStart, bodyStart + len)) });
      buf = buf.subarray(bodyStart + len + 2);
    }
  });
}

function open(path: string): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, (res) => resolve({ req, res }));
    req.on('error', reject);
  });
}

/** Read n parts from a fresh connection, then close it. */
async function takeParts(path: string, n: number): Promise<{ res: http.IncomingMessage; parts: Part[] }> {
  const { req, res } = await open(path);
  assert.equal(res.statusCode, 200);
  const parts: Part[] = [];
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      res.on('error', reject);
      res.on('end', () => reject(new Error(`stream ended after ${parts.length} parts`)));
      readParts(res, (p) => {
        parts.push(p);
        if (parts.length === n) resolve();
      });
    }),
    15_000,
    `${n} MJPEG parts from ${path}`,
  );
  req.destroy();
  return { res, parts };
}

test('/stream.mjpg sends complete JPEGs of the asked size as multipart parts', async () => {
  const { res, parts } = await takeParts('/stream.mjpg?width=320&height=180&fps=30&quality=60', 5);
  assert.match(res.headers['cache-control'] ?? '', /no-cache/);
  const seen = new Set<string>();
  for (const p of parts) {
    assert.equal(p.headers['content-type'], 'image/jpeg');
    assert.equal(p.body[0], 0xff);
    assert.equal(p.body[1], 0xd8);
    const meta = await sharp(p.body).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 320);
    assert.equal(meta.height, 180);
    seen.add(p.headers['x-timestamp-us'] ?? '');
  }
  assert.equal(seen.size, parts.length, 'each part is a new frame');
});

test('/stream.mjpg refuses bad parameters with 400 naming the parameter', async () => {
  const r = await fetch(`${base}/stream.mjpg?width=wide`);
  assert.equal(r.status, 400);
  assert.match(await r.text(), /width/);
  const r2 = await fetch(`${base}/stream.mjpg?fps=0`);
  assert.equal(r2.status, 400);
  assert.match(await r2.text(), /fps/);
});

test('ffprobe decodes /stream.mjpg at the asked size', async (t) => {
  if (!requireTool(t, 'ffprobe', ['-version'])) return;
  const url = `${base}/stream.mjpg?width=352&height=288&fps=15`;
  const child = spawn('ffprobe', ['-v', 'error', '-f', 'mjpeg', '-select_streams', 'v:0', '-show_entries', 'frame=width,height', '-of', 'json', '-read_intervals', '%+#3', url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // The stream never ends by itself: ffprobe must stop after 3 frames; if it does not, kill it and fail.
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killer);
  assert.equal(code, 0, `ffprobe exit ${code}: ${err}`);
  const frames = (JSON.parse(out) as { frames: { width: number; height: number }[] }).frames;
  assert.ok(frames.length >= 3, `ffprobe decoded ${frames.length} frames`);
  for (const f of frames) assert.deepEqual({ width: f.width, height: f.height }, { width: 352, height: 288 });
});

test('HEAD /stream.mjpg answers with the headers only', async () => {
  const r = await fetch(`${base}/stream.mjpg`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^multipart\/x-mixed-replace; boundary=/);
  assert.equal((await r.arrayBuffer()).byteLength, 0);
});

test('a stalled MJPEG reader does not slow a fast one, and its dropped count grows', async () => {
  // The slow reader asks for big frames (the source's size at quality 95; no upscaling) and never reads:
  // the kernel buffers fill and its frames are dropped.
  const slow = await open('/stream.mjpg?width=640&height=360&quality=95&fps=30');
  slow.res.pause();
  const fast = await open('/stream.mjpg?width=320&height=180&fps=30');
  let fastParts = 0;
  readParts(fast.res, () => fastParts++);
  try {
    const slowDropped = async (atLeast: number): Promise<number | null> => {
      const s = await status();
      const c = s.clients.find((x) => x.protocol === 'mjpeg' && x.quality === 95);
      return c && c.dropped >= atLeast ? c.dropped : null;
    };
    const first = await waitFor(() => slowDropped(5), 30_000, 'the stalled reader to drop frames');
    const partsAtFirst = fastParts;
    const t0 = performance.now();
    await waitFor(() => slowDropped(first + 15), 20_000, 'the stalled reader to keep dropping');
    const seconds = (performance.now() - t0) / 1000;
    const fastRate = (fastParts - partsAtFirst) / seconds;
    // While the slow one is stuck, the fast one keeps (nearly) the full 30 fps.
    assert.ok(fastRate > 20, `fast reader got ${fastRate.toFixed(1)} fps while the slow one was stalled`);
    const s = await status();
    const fastInfo = s.clients.find((x) => x.protocol === 'mjpeg' && x.width === 320);
    assert.ok(fastInfo, 'the fast reader is listed');
    assert.ok(fastInfo.sent > 30, `fast reader sent ${fastInfo.sent}`);
    assert.ok(fastInfo.dropped <= fastInfo.sent / 10, `fast reader dropped ${fastInfo.dropped} of ${fastInfo.sent}`);
  } finally {
    slow.req.destroy();
    fast.req.destroy();
  }
  // Both are gone from the registry once their connections close.
  await waitFor(async () => ((await status()).clients.length === 0 ? true : null), 10_000, 'clients to be removed');
});
