/**
 * Live H.264 in MPEG-TS over HTTP (/stream.ts) with the real ffmpeg: ffprobe reports H.264 at the asked size,
 * ffmpeg decodes 30 frames without an error, HEAD answers without streaming, a server without H.264 says so,
 * and a reader that takes nothing skips access units instead of buffering them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { RunningServer } from '../../src/index.js';
import { httpTransport } from '../../src/server/http/http-transport.js';
import { startTestServer, waitUntil } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

function needFfmpeg(t: TestContext): boolean {
  return requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg') && requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg');
}

function run(cmd: string, args: string[], ms: number): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${cmd} timed out after ${ms} ms: ${stderr}`));
    }, ms);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('/stream.ts', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ codec: 'h264', gop: 1, h264Encoder: 'libx264', httpPort: 0 }, { extras: [httpTransport()] });
    base = `http://127.0.0.1:${server.extras[0]!.port}`;
  });
  after(() => server.close());

  test('ffprobe reports H.264 at the asked size', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const r = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', `${base}/stream.ts?width=320&height=180`], 30_000);
    assert.equal(r.code, 0, r.stderr);
    const s = (JSON.parse(r.stdout) as { streams: { codec_name: string; width: number; height: number }[] }).streams[0]!;
    assert.deepEqual([s.codec_name, s.width, s.height], ['h264', 320, 180]);
    t.diagnostic(`ffprobe: ${r.ms} ms from request to answer`);
  });

  test('ffmpeg decodes 30 frames with no error', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const r = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', `${base}/stream.ts?width=320&height=180`, '-frames:v', '30', '-f', 'null', '-'], 40_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no decode errors');
    t.diagnostic(`ffmpeg: 30 frames in ${r.ms} ms`);
  });

  test('HEAD answers video/mp2t with the grant and streams nothing', { timeout: 20_000 }, async () => {
    const r = await fetch(`${base}/stream.ts?width=320&height=180`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'video/mp2t');
    assert.equal(r.headers.get('x-framewire-size'), '320x180');
  });

  test('HEAD tells the rate H.264 is sent at (the encode rate), not the one asked', { timeout: 20_000 }, async () => {
    const r = await fetch(`${base}/stream.ts?width=320&height=180&fps=5`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-framewire-fps'), '30', 'a GET of the same URL gets 30 fps: H.264 is not thinned per viewer');
  });

  test('a reader that takes nothing skips access units instead of holding them', { timeout: 60_000 }, async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${base}/stream.ts?width=640&height=360`, resolve).on('error', reject);
    });
    try {
      assert.equal(res.statusCode, 200);
      res.pause();
      await waitUntil(() => server.registry.totals().skipped > 30, 40_000, 'the stalled reader to skip access units');
    } finally {
      res.destroy();
    }
  });
});

test('a server that does not make H.264 answers 404 with why', { timeout: 20_000 }, async () => {
  const server = await startTestServer({ codec: 'jpeg', httpPort: 0 }, { extras: [httpTransport()] });
  try {
    const r = await fetch(`http://127.0.0.1:${server.extras[0]!.port}/stream.ts`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /E_UNSUPPORTED.*H\.264/);
  } finally {
    await server.close();
  }
});
