/**
 * H.264 served over framewire/1 with the real ffmpeg (docs/h264.md, docs/protocol.md §4.1.1): a client
 * offering H.264 is granted codec 2 and gets access units starting at a keyframe that ffprobe decodes whole
 * at the granted size; a viewer that acks slowly gets only decodable runs and its skips are counted; a
 * JPEG-only client of the same server gets JPEG; `codec: 'jpeg'` grants JPEG to a client offering H.264;
 * out-of-range settings are refused at start-up.
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/client.js';
import { Codec } from '../../src/protocol/constants.js';
import { MessageDecoder } from '../../src/protocol/decoder.js';
import { encodeMessage } from '../../src/protocol/encode.js';
import type { FrameMessage } from '../../src/protocol/messages.js';
import { take } from '../helpers/client.js';
import { rawConnect, startTestServer, within } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { FramewireError } from '../../src/errors.js';
import WebSocket from 'ws';
import { httpTransport } from '../../src/server/http/http-transport.js';

const W = 320;
const H = 180;

function needFfmpeg(t: TestContext): boolean {
  return requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg') && requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg');
}

/** What ffprobe decodes from the concatenated access units, and everything it complained about. */
function decode(file: string, aus: readonly Uint8Array[]): { frames: { key_frame: number; width: number; height: number }[]; stderr: string } {
  writeFileSync(file, Buffer.concat(aus));
  const r = spawnSync('ffprobe', ['-v', 'error', '-f', 'h264', '-show_frames', '-show_entries', 'frame=key_frame,width,height', '-of', 'json', file], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return { frames: (JSON.parse(r.stdout) as { frames: { key_frame: number; width: number; height: number }[] }).frames, stderr: r.stderr };
}

describe('H.264 over framewire/1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'framewire-h264-serve-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a client offering H.264 gets ACCEPT codec 2 and access units from a keyframe that decode whole; a JPEG-only client of the same server gets JPEG', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const server = await startTestServer({ codec: 'h264', gop: 1, h264Encoder: 'libx264' });
    try {
      const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, fps: 10, codecs: ['h264'] });
      assert.equal(c.accepted.codec, 'h264');
      // An inter-coded stream runs at the encode rate (the source's); ACCEPT says so rather than echo the 10 asked.
      assert.equal(c.accepted.fps, server.hub.source.info.fps);
      const frames = await within(take(c, 45), 30_000, 'access units');
      assert.equal(frames[0]!.keyframe, true, 'the first frame is a keyframe');
      for (const f of frames) {
        assert.deepEqual([f.codec, f.width, f.height, f.catchUp], ['h264', W, H, false]);
        assert.equal(f.payload, f.jpeg, 'payload and its older name are the same bytes');
        assert.ok(f.captureUs > 0);
      }
      assert.ok(frames.some((f, i) => i > 0 && f.keyframe), 'a keyframe again within a GOP of 1 s');
      const jpegBytes: number[] = [];
      const j = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H });
      assert.equal(j.accepted.codec, 'jpeg');
      for (const f of await within(take(j, 3), 10_000, 'JPEG frames')) {
        assert.deepEqual([f.codec, f.jpeg[0], f.jpeg[1]], ['jpeg', 0xff, 0xd8]);
        jpegBytes.push(f.jpeg.length);
      }
      await j.close();
      await c.close();
      const { frames: decoded, stderr } = decode(join(dir, 'joined.h264'), frames.map((f) => f.payload));
      assert.equal(stderr, '', 'no decode errors');
      assert.equal(decoded.length, frames.length, 'every access unit decodes to a picture');
      for (const d of decoded) assert.deepEqual([d.width, d.height], [W, H]);
      const delta = frames.filter((f) => !f.keyframe).map((f) => f.jpeg.length);
      const key = frames.filter((f) => f.keyframe).map((f) => f.jpeg.length);
      const mean = (a: number[]): number => Math.round(a.reduce((s, x) => s + x, 0) / Math.max(1, a.length));
      t.diagnostic(`${W}x${H} test pattern: H.264 2 Mbit/s mean ${mean(frames.map((f) => f.jpeg.length))} B/frame (keyframe ${mean(key)}, other ${mean(delta)}); JPEG q75 ${mean(jpegBytes)} B/frame`);
    } finally {
      await server.close();
    }
  });

  test('a client joining mid-GOP gets the run since the keyframe as a catch-up burst and its newest picture at once', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const server = await startTestServer({ codec: 'h264', gop: 2, h264Encoder: 'libx264' });
    try {
      const first = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
      // About 1 s into the 2 s GOP (30 fps): the keyframe and ~29 frames since are cached.
      const before = await within(take(first, 30), 30_000, 'the first viewer\'s frames');
      assert.equal(before.filter((f) => f.keyframe).length, 1, 'still inside the first GOP');
      const t0 = performance.now();
      const late = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
      const got = [];
      let shownAfterMs = -1;
      const it = late[Symbol.asyncIterator]();
      while (got.length < 40) {
        const r = await within(it.next(), 10_000, 'the joiner\'s frames');
        assert.ok(!r.done);
        got.push(r.value);
        if (shownAfterMs < 0 && !r.value.catchUp) shownAfterMs = performance.now() - t0;
      }
      const burst = got.findIndex((f) => !f.catchUp);
      assert.equal(got[0]!.keyframe, true, 'the burst starts at the keyframe');
      assert.ok(burst >= 10, `a catch-up run of the frames since the keyframe (${burst} catch-up frames)`);
      assert.equal(got[burst]!.keyframe, false, 'the first shown picture is the newest, not the next keyframe');
      assert.ok(got.slice(burst).every((f) => !f.catchUp), 'live frames after the burst');
      // Well before the next keyframe (~1 s away): connect + one frame interval + the burst.
      assert.ok(shownAfterMs < 700, `first picture ${shownAfterMs.toFixed(0)} ms after connecting`);
      const { frames: decoded, stderr } = decode(join(dir, 'late.h264'), got.map((f) => f.payload));
      assert.equal(stderr, '', 'no decode errors');
      assert.equal(decoded.length, got.length);
      t.diagnostic(`joined mid-GOP: ${burst} catch-up frames, first picture to show ${shownAfterMs.toFixed(0)} ms after connect() began`);
      await late.close();
      await first.close();
    } finally {
      await server.close();
    }
  });

  test('a viewer that acks slowly gets only decodable runs, and its skips are counted', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const server = await startTestServer({ codec: 'h264', gop: 1, h264Encoder: 'libx264', window: 1 });
    let sock: net.Socket | null = null;
    const timers = new Set<NodeJS.Timeout>();
    try {
      sock = await rawConnect(server.tcp.port);
      const s = sock;
      const got: FrameMessage[] = [];
      const decoder = new MessageDecoder({ codecs: 0x03 });
      // Acks each frame 150 ms late: about 6 frames a second of a 30 fps encode.
      const done = new Promise<void>((resolve, reject) => {
        s.on('data', (chunk: Buffer) => {
          const r = decoder.push(chunk);
          if (r.error) return reject(r.error);
          for (const m of r.messages) {
            if (m.type === 'accept') assert.equal(m.codec, Codec.H264);
            if (m.type !== 'frame') continue;
            got.push(m);
            const timer = setTimeout(() => {
              timers.delete(timer);
              if (!s.destroyed) s.write(encodeMessage({ type: 'ack', seq: m.seq }));
            }, 150);
            timers.add(timer);
            if (got.filter((f) => f.keyframe).length >= 3) resolve();
          }
        });
        s.once('close', () => reject(new Error('closed')));
      });
      s.write(encodeMessage({ type: 'hello', version: 1, token: '', width: W, height: H, fps: 0, quality: 0, codecs: 0x03 }));
      await within(done, 30_000, 'three keyframes at the slow pace');
      assert.equal(got[0]!.keyframe, true, 'starts at a keyframe');
      const skipped = server.registry.totals().skipped;
      assert.ok(skipped > 0, `skips counted (${skipped})`);
      const { frames: decoded, stderr } = decode(join(dir, 'slow.h264'), got.map((f) => f.payload));
      assert.equal(stderr, '', 'no decode errors: no access unit lacks its reference');
      assert.equal(decoded.length, got.length);
      t.diagnostic(`slow viewer: ${got.length} access units received, ${skipped} skipped`);
    } finally {
      for (const timer of timers) clearTimeout(timer);
      sock?.destroy();
      await server.close();
    }
  });

  test('over WebSocket: ACCEPT codec 2 and access units from a keyframe that decode whole', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const server = await startTestServer({ codec: 'h264', gop: 1, h264Encoder: 'libx264', httpPort: 0 }, { extras: [httpTransport()] });
    let ws: WebSocket | null = null;
    try {
      const sock = new WebSocket(`ws://127.0.0.1:${server.extras[0]!.port}/ws`);
      ws = sock;
      const got: FrameMessage[] = [];
      const decoder = new MessageDecoder({ codecs: 0x03 });
      let accepted: number | null = null;
      await within(
        new Promise<void>((resolve, reject) => {
          sock.on('open', () => sock.send(encodeMessage({ type: 'hello', version: 1, token: '', width: W, height: H, fps: 0, quality: 0, codecs: 0x03 })));
          sock.on('message', (data: Buffer) => {
            const r = decoder.push(data);
            if (r.error) return reject(r.error);
            for (const m of r.messages) {
              if (m.type === 'accept') accepted = m.codec;
              if (m.type !== 'frame') continue;
              got.push(m);
              sock.send(encodeMessage({ type: 'ack', seq: m.seq }));
              if (got.length === 20) resolve();
            }
          });
          sock.on('error', reject);
        }),
        30_000,
        'frames over WebSocket',
      );
      assert.equal(accepted, Codec.H264);
      assert.equal(got[0]!.keyframe, true);
      assert.ok(got.every((f) => f.codec === Codec.H264));
      const { frames: decoded, stderr } = decode(join(dir, 'ws.h264'), got.map((f) => f.payload));
      assert.equal(stderr, '');
      assert.equal(decoded.length, got.length);
    } finally {
      ws?.terminate();
      await server.close();
    }
  });

  test("codec 'jpeg' grants JPEG to a client offering H.264", { timeout: 30_000 }, async () => {
    const server = await startTestServer({ codec: 'jpeg' });
    try {
      const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
      assert.equal(c.accepted.codec, 'jpeg');
      const [f] = await within(take(c, 1), 10_000, 'a frame');
      assert.deepEqual([f!.codec, f!.jpeg[0], f!.jpeg[1]], ['jpeg', 0xff, 0xd8]);
      await c.close();
    } finally {
      await server.close();
    }
  });

  test("without a working H.264 encoder: 'both' serves JPEG with one log line naming what to install, 'h264' refuses to start", { timeout: 30_000 }, async () => {
    // An ffmpeg built without libx264 (and no working hardware encoder) answers every encode so.
    const fake = join(dir, 'ffmpeg');
    writeFileSync(fake, `#!/bin/sh\necho "Unknown encoder 'libx264'" >&2\nexit 1\n`);
    chmodSync(fake, 0o755);
    const saved = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = fake;
    try {
      const lines: string[] = [];
      const log = { info: () => {}, warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
      const server = await startTestServer({ codec: 'both', log });
      try {
        assert.equal(lines.length, 1, lines.join('\n'));
        assert.match(lines[0]!, /^E_UNSUPPORTED: serving JPEG only: .*install/);
        const c = await connect(`tcp://127.0.0.1:${server.tcp.port}`, { width: W, height: H, codecs: ['h264'] });
        assert.equal(c.accepted.codec, 'jpeg');
        await c.close();
      } finally {
        await server.close();
      }
      await assert.rejects(startTestServer({ codec: 'h264' }), (e) => e instanceof FramewireError && e.code === 'E_UNSUPPORTED');
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
    }
  });

  test('out-of-range H.264 settings are E_BAD_PARAMS at start-up', { timeout: 10_000 }, async () => {
    for (const bad of [{ bitrate: 49 }, { bitrate: 100_001 }, { gop: 0 }, { gop: 61 }, { gop: 1.5 }]) {
      await assert.rejects(startTestServer({ codec: 'h264', ...bad }), (e) => e instanceof FramewireError && e.code === 'E_BAD_PARAMS', JSON.stringify(bad));
    }
    await assert.rejects(startTestServer({ codec: 'vp8' as 'jpeg' }), (e) => e instanceof FramewireError && e.code === 'E_BAD_PARAMS');
    await assert.rejects(startTestServer({ h264Encoder: 'x265' as 'auto' }), (e) => e instanceof FramewireError && e.code === 'E_BAD_PARAMS');
  });
});
