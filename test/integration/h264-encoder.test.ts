/**
 * The H.264 encoder process (src/pipeline/h264-encoder.ts) and encoder selection (h264-encoder-probe.ts)
 * with the real ffmpeg: the test pattern in, access units out matched to their frames, decoded back by
 * ffprobe; JPEG input; the in-flight bound; a killed and a stalled encoder; a host without libx264; colours
 * through the native I420 conversion and through ffmpeg's own.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { H264Encoder, type EncodedAccessUnit, type H264EncoderOptions, type H264EncoderSink } from '../../src/pipeline/h264-encoder.js';
import { probeH264Encoder, selectH264Encoder } from '../../src/pipeline/h264-encoder-probe.js';
import { HARDWARE_ENCODERS } from '../../src/pipeline/h264-encoder-args.js';
import { parseSps } from '../../src/codecs/h264/sps.js';
import { BAR_COLOURS, BAR_HEIGHT_FRACTION, TestPatternRenderer, TestPatternSource } from '../../src/sources/testpattern.js';
import { nativeJpeg, nativeJpegStatus } from '../../src/pipeline/native-jpeg.js';
import type { RawFrame, SourceEvent } from '../../src/sources/source.js';
import { FramewireError } from '../../src/errors.js';
import { requireTool } from '../helpers/tools.js';
import { alive } from '../helpers/process.js';
import { recorded } from '../helpers/recorder.js';

const W = 640;
const H = 360;

interface Recorder extends H264EncoderSink {
  readonly aus: EncodedAccessUnit[];
  readonly events: SourceEvent[];
  until(pred: () => boolean, ms: number, what: string): Promise<void>;
}

function recorder(): Recorder {
  const r = recorded<EncodedAccessUnit>('access units');
  return { aus: r.items, events: r.events, accessUnit: r.add, event: r.event, until: r.until };
}

const nalTypes = (au: EncodedAccessUnit): number[] => au.nals.map((n) => n[0]! & 0x1f);

/** The frame with a retain() that counts references still held (as the test pattern's pooled frames have). */
function counted(frame: RawFrame, refs: { held: number }): RawFrame {
  return {
    ...frame,
    retain: () => {
      refs.held++;
      let done = false;
      return () => {
        if (!done) refs.held--;
        done = true;
      };
    },
  };
}

function rgbFrame(renderer: TestPatternRenderer, seq: number): RawFrame {
  const captureUs = 1_700_000_000_000_000 + seq * 33_333;
  return { seq, captureUs, width: renderer.width, height: renderer.height, format: 'rgb24', data: renderer.render(seq, captureUs) };
}

/** Frames counted by ffprobe decoding the stream, and everything it complained about. */
function ffprobeFrames(file: string): { frames: { key_frame: number; pict_type: string; width: number; height: number }[]; stderr: string } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-f', 'h264', '-show_frames', '-show_entries', 'frame=key_frame,pict_type,width,height', '-of', 'json', file], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return { frames: (JSON.parse(r.stdout) as { frames: { key_frame: number; pict_type: string; width: number; height: number }[] }).frames, stderr: r.stderr };
}

function needFfmpeg(t: TestContext): boolean {
  return requireTool(t, 'ffmpeg', ['-version'], 'apt-get install ffmpeg') && requireTool(t, 'ffprobe', ['-version'], 'apt-get install ffmpeg');
}

/** The native addon is there, or the test is skipped loudly (and fails in CI, which builds it). */
function needNative(t: TestContext): boolean {
  if (nativeJpeg) return true;
  const why = `native addon not available: ${nativeJpegStatus()}`;
  if (process.env.CI === 'true' && process.env.FRAMEWIRE_NATIVE_JPEG !== '0') throw new Error(`${why}: CI must build it`);
  console.warn(`\n*** SKIPPED: ${why} ***\n`);
  t.skip(why);
  return false;
}

/** The last picture of an Annex B file decoded by ffmpeg to rgb24 (it follows the stream's colour tags), and those tags. */
function decodeLast(file: string, w: number, h: number): { rgb: Buffer; tags: Record<string, string> } {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'h264', '-i', file, '-vf', 'reverse', '-frames:v', '1', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], {
    maxBuffer: 64 << 20,
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(r.stdout.length, w * h * 3);
  const p = spawnSync('ffprobe', ['-v', 'error', '-f', 'h264', '-show_streams', '-show_entries', 'stream=color_range,color_space,color_primaries,color_transfer,chroma_location', '-of', 'json', file], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(p.status, 0, p.stderr);
  return { rgb: r.stdout, tags: (JSON.parse(p.stdout) as { streams: Record<string, string>[] }).streams[0]! };
}

const base: H264EncoderOptions = { width: W, height: H, fps: 30, bitrate: 1_000_000, gop: 15, encoder: 'libx264' };

describe('H.264 encoder with ffmpeg', () => {
  const dir = mkdtempSync(join(tmpdir(), 'framewire-h264-'));
  const renderer = new TestPatternRenderer(W, H);
  const encoders: H264Encoder[] = [];
  const start = async (opts: Partial<H264EncoderOptions> = {}): Promise<{ enc: H264Encoder; rec: Recorder }> => {
    const enc = new H264Encoder({ ...base, ...opts });
    encoders.push(enc);
    const rec = recorder();
    await enc.start(rec);
    return { enc, rec };
  };
  after(async () => {
    await Promise.all(encoders.map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('60 frames of the test pattern → 60 access units in order, keyframes every GOP with SPS/PPS, decodable by ffprobe', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const { enc, rec } = await start();
    for (let seq = 0; seq < 60; seq++) {
      assert.equal(enc.encode(rgbFrame(renderer, seq)), true, `frame ${seq} accepted`);
      // Keep two frames in flight: the pace of the encoder, not of a timer.
      await rec.until(() => rec.aus.length >= seq - 1, 15_000, `access unit ${seq - 1}`);
    }
    await rec.until(() => rec.aus.length === 60, 15_000, '60 access units');

    assert.deepEqual(rec.aus.map((a) => a.seq), Array.from({ length: 60 }, (_, i) => i));
    assert.deepEqual(rec.aus.map((a) => a.captureUs), Array.from({ length: 60 }, (_, i) => 1_700_000_000_000_000 + i * 33_333));
    assert.deepEqual(
      rec.aus.map((a) => a.keyframe),
      Array.from({ length: 60 }, (_, i) => i % 15 === 0),
      'a keyframe exactly every 15 frames',
    );
    for (const au of rec.aus) {
      assert.equal(nalTypes(au)[0], 9, `access unit ${au.seq} starts with an AUD`);
      if (au.keyframe) {
        assert.ok(nalTypes(au).includes(7) && nalTypes(au).includes(8), `keyframe ${au.seq} carries SPS and PPS: ${nalTypes(au)}`);
        const sps = parseSps(au.nals.find((n) => (n[0]! & 0x1f) === 7)!);
        assert.equal(`${sps.width}x${sps.height}`, '640x360');
      }
      assert.equal(au.width, W);
      assert.equal(au.height, H);
      assert.match(au.codec, /^avc1\.[0-9A-F]{6}$/);
      assert.ok(au.encodedUs >= au.captureUs);
    }
    assert.equal(enc.stats.framesWritten, 60);
    assert.equal(enc.stats.accessUnits, 60);
    assert.equal(enc.stats.droppedInEncoder + enc.stats.droppedBusy + enc.stats.droppedAtRestart, 0);

    const file = join(dir, 'pattern.h264');
    writeFileSync(file, Buffer.concat(rec.aus.map((a) => a.data)));
    const probe = ffprobeFrames(file);
    assert.equal(probe.stderr, '', 'ffprobe decoded without complaint');
    assert.equal(probe.frames.length, 60);
    assert.deepEqual(
      probe.frames.map((f) => f.key_frame),
      Array.from({ length: 60 }, (_, i) => (i % 15 === 0 ? 1 : 0)),
    );
    assert.ok(probe.frames.every((f) => f.width === W && f.height === H));
    // A joiner starting at any keyframe decodes: the stream from the second keyframe on stands alone.
    const tail = join(dir, 'from-second-keyframe.h264');
    writeFileSync(tail, Buffer.concat(rec.aus.slice(15).map((a) => a.data)));
    const tailProbe = ffprobeFrames(tail);
    assert.equal(tailProbe.stderr, '');
    assert.equal(tailProbe.frames.length, 45);
    await enc.stop();
  });

  // Both paths, so a wrong matrix or range in either shows: a full-range picture read as limited range (or
  // the reverse) moves the bars' 16 and 235 by 16..20, well outside the tolerance.
  for (const path of ['i420', 'rgb24'] as const) {
    test(`${path === 'i420' ? 'native I420 conversion' : 'rgb24 to ffmpeg (swscale)'}: decoded colours match the test pattern within ±6, stream tagged BT.601 limited range`, { timeout: 60_000 }, async (t) => {
      if (!needFfmpeg(t)) return;
      if (path === 'i420' && !needNative(t)) return;
      const { enc, rec } = await start({ nativeI420: path === 'i420', bitrate: 4_000_000 });
      assert.equal(enc.inputFormat, path);
      const n = 10;
      for (let seq = 0; seq < n; seq++) {
        assert.equal(enc.encode(rgbFrame(renderer, seq)), true, `frame ${seq} accepted`);
        await rec.until(() => rec.aus.length >= seq - 1, 15_000, `access unit ${seq - 1}`);
      }
      await rec.until(() => rec.aus.length === n, 15_000, `${n} access units`);
      assert.deepEqual(rec.aus.map((a) => a.seq), Array.from({ length: n }, (_, i) => i), 'in order');
      assert.equal(enc.stats.badFrames, 0);
      const file = join(dir, `colours-${path}.h264`);
      writeFileSync(file, Buffer.concat(rec.aus.map((a) => a.data)));
      const { rgb, tags } = decodeLast(file, W, H);
      assert.equal(tags.color_range, 'tv');
      assert.equal(tags.color_space, 'smpte170m');
      if (path === 'i420') assert.equal(tags.chroma_location, 'center', 'TurboJPEG averages 2x2 blocks: centre-sited chroma');
      const barW = W / BAR_COLOURS.length;
      const y = Math.floor((H * BAR_HEIGHT_FRACTION) / 2);
      BAR_COLOURS.forEach((want, i) => {
        const o = (y * W + Math.floor((i + 0.5) * barW)) * 3;
        const got = [rgb[o]!, rgb[o + 1]!, rgb[o + 2]!];
        assert.ok(
          got.every((v, c) => Math.abs(v - want[c]!) <= 6),
          `bar ${i}: decoded ${got.join(',')}, drawn ${want.join(',')}`,
        );
      });
      // And the whole picture, text, ball and edges included.
      const src = renderer.render(n - 1, 1_700_000_000_000_000 + (n - 1) * 33_333);
      let sum = 0;
      for (let i = 0; i < src.length; i++) sum += Math.abs(src[i]! - rgb[i]!);
      const mad = sum / src.length;
      assert.ok(mad < 5, `mean absolute difference to the frame drawn: ${mad.toFixed(2)}`);
      t.diagnostic(`${path}: mean absolute difference ${mad.toFixed(2)}`);
      await enc.stop();
    });
  }

  test('an I420 conversion that fails drops the addon for this encoder: every frame still becomes an access unit, through rgb24', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    let calls = 0;
    const failing = {
      rgbToI420: (): Promise<Buffer> => {
        calls++;
        return Promise.reject(new Error('tjInitCompress: out of handles'));
      },
    };
    const { enc, rec } = await start({ nativeI420: failing, maxInFlight: 12 });
    assert.equal(enc.inputFormat, 'i420');
    for (let seq = 0; seq < 6; seq++) assert.equal(enc.encode(rgbFrame(renderer, seq)), true);
    await rec.until(() => rec.aus.length === 6, 20_000, '6 access units');
    assert.equal(enc.inputFormat, 'rgb24');
    const asked = calls;
    for (let seq = 6; seq < 9; seq++) assert.equal(enc.encode(rgbFrame(renderer, seq)), true);
    await rec.until(() => rec.aus.length === 9, 20_000, '9 access units');
    assert.deepEqual(rec.aus.map((a) => a.seq), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(enc.stats.badFrames, 0);
    assert.equal(calls, asked, 'the addon is not asked again once it failed');
    assert.ok(rec.events.some((e) => e.kind === 'log' && /native I420 conversion failed/.test(e.text)), 'the switch is logged');
    await enc.stop();
  });

  test('JPEG frames are decoded before ffmpeg (scaled to the output size); one that does not decode is counted, the rest keep their labels', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const big = new TestPatternRenderer(1280, 720);
    const jpegs = await Promise.all(
      Array.from({ length: 10 }, (_, seq) => sharp(big.render(seq, 0), { raw: { width: 1280, height: 720, channels: 3 } }).jpeg({ quality: 80 }).toBuffer()),
    );
    jpegs[4] = Buffer.concat([jpegs[4]!.subarray(0, 2), Buffer.alloc(1000, 0x42)]); // SOI then garbage
    const { enc, rec } = await start({ maxInFlight: 12 });
    for (let seq = 0; seq < 10; seq++) {
      assert.equal(enc.encode({ seq, captureUs: seq, width: 1280, height: 720, format: 'jpeg', data: jpegs[seq]! }), true);
    }
    await rec.until(() => rec.aus.length === 9, 20_000, '9 access units');
    assert.deepEqual(rec.aus.map((a) => a.seq), [0, 1, 2, 3, 5, 6, 7, 8, 9]);
    assert.equal(enc.stats.badFrames, 1);
    assert.ok(rec.aus.every((a) => a.width === W && a.height === H));
    const file = join(dir, 'jpeg.h264');
    writeFileSync(file, Buffer.concat(rec.aus.map((a) => a.data)));
    const probe = ffprobeFrames(file);
    assert.equal(probe.stderr, '');
    assert.equal(probe.frames.length, 9);
    await enc.stop();
  });

  test('JPEG and rgb24 frames mixed keep their order (an rgb24 frame waits for the JPEG being decoded before it)', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const big = new TestPatternRenderer(1280, 720);
    const jpeg = await sharp(big.render(0, 0), { raw: { width: 1280, height: 720, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
    const { enc, rec } = await start({ maxInFlight: 8 });
    const refs = { held: 0 };
    for (let seq = 0; seq < 6; seq++) {
      const frame: RawFrame = seq % 2 === 0 ? { seq, captureUs: seq, width: 1280, height: 720, format: 'jpeg', data: jpeg } : rgbFrame(renderer, seq);
      assert.equal(enc.encode(counted(frame, refs)), true);
    }
    await rec.until(() => rec.aus.length === 6, 20_000, '6 access units');
    assert.deepEqual(rec.aus.map((a) => a.seq), [0, 1, 2, 3, 4, 5]);
    assert.equal(refs.held, 0, 'every frame buffer given back once ffmpeg had it');
    await enc.stop();
  });

  test('at most maxInFlight frames in flight: newer ones are refused and counted while the encoder is behind', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const { enc, rec } = await start({ maxInFlight: 3 });
    const refs = { held: 0 };
    const accepted = Array.from({ length: 10 }, (_, seq) => enc.encode(counted(rgbFrame(renderer, seq), refs)));
    assert.equal(refs.held, 3, 'refused frames are not held');
    assert.deepEqual(accepted, [true, true, true, false, false, false, false, false, false, false]);
    assert.equal(enc.stats.droppedBusy, 7);
    assert.equal(enc.inFlight, 3);
    await rec.until(() => rec.aus.length === 3, 15_000, '3 access units');
    assert.deepEqual(rec.aus.map((a) => a.seq), [0, 1, 2]);
    assert.equal(enc.inFlight, 0);
    assert.equal(refs.held, 0);
    assert.equal(enc.encode(rgbFrame(renderer, 10)), true, 'accepted again once the encoder caught up');
    await rec.until(() => rec.aus.length === 4, 15_000, 'access unit 10');
    await enc.stop();
  });

  test('input of another size restarts ffmpeg quietly; the next access unit is a keyframe at the output size', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const { enc, rec } = await start({ gop: 300 });
    const small = new TestPatternRenderer(320, 180);
    for (let seq = 0; seq < 10; seq++) {
      enc.encode(rgbFrame(seq < 5 ? renderer : small, seq));
      await rec.until(() => rec.aus.length === seq + 1, 15_000, `access unit ${seq}`);
    }
    assert.deepEqual(rec.aus.map((a) => a.keyframe), [true, false, false, false, false, true, false, false, false, false]);
    assert.ok(rec.aus.every((a) => a.width === W && a.height === H));
    assert.deepEqual(rec.events.filter((e) => e.kind !== 'log'), [], 'no lost/resumed for a deliberate restart');
    await enc.stop();
  });

  test('an encoder killed mid-stream: lost, restarted with backoff, resumed, and its first access unit is a keyframe with SPS/PPS', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const { enc, rec } = await start({ gop: 300, backoffInitialMs: 200 });
    const source = new TestPatternSource({ width: W, height: H, fps: 30 });
    await source.start({ frame: (f) => void enc.encode(f), event: () => {} });
    try {
      await rec.until(() => rec.aus.length >= 10, 20_000, '10 access units');
      const pid = enc.pid!;
      const before = rec.aus.length;
      process.kill(pid, 'SIGKILL');
      await rec.until(() => rec.events.some((e) => e.kind === 'lost'), 10_000, 'lost');
      await rec.until(() => rec.events.some((e) => e.kind === 'resumed'), 20_000, 'resumed');
      await rec.until(() => rec.aus.length >= before + 5, 20_000, '5 more access units');
      const lostAt = rec.events.findIndex((e) => e.kind === 'lost');
      assert.match((rec.events[lostAt] as { reason: string }).reason, /SIGKILL/);
      const firstAfter = rec.aus[before]!;
      assert.equal(firstAfter.keyframe, true, 'first picture after the restart is a keyframe');
      assert.ok(nalTypes(firstAfter).includes(7) && nalTypes(firstAfter).includes(8));
      assert.ok(rec.aus.slice(before + 1).every((a) => !a.keyframe), 'GOP 300: no other keyframe, so the restart made that one');
      assert.ok(rec.aus.every((a, i) => i === 0 || a.seq > rec.aus[i - 1]!.seq), 'labels stay in order');
      assert.notEqual(enc.pid, pid);
      assert.equal(enc.stats.restarts, 1);
    } finally {
      await source.stop();
      await enc.stop();
    }
  });

  test('a stalled encoder (SIGSTOP) is detected, killed and restarted; the first access unit after it is a keyframe', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    if (process.platform === 'win32') return t.skip('no SIGSTOP on Windows');
    const { enc, rec } = await start({ gop: 300, stallMs: 800, killGraceMs: 300, backoffInitialMs: 100 });
    const source = new TestPatternSource({ width: W, height: H, fps: 30 });
    await source.start({ frame: (f) => void enc.encode(f), event: () => {} });
    let pid = 0;
    try {
      await rec.until(() => rec.aus.length >= 5, 20_000, '5 access units');
      pid = enc.pid!;
      const before = rec.aus.length;
      process.kill(pid, 'SIGSTOP');
      await rec.until(() => rec.events.some((e) => e.kind === 'lost'), 10_000, 'lost');
      assert.match((rec.events.find((e) => e.kind === 'lost') as { reason: string }).reason, /no picture from the H\.264 encoder/);
      await rec.until(() => rec.events.some((e) => e.kind === 'resumed'), 20_000, 'resumed');
      await rec.until(() => !alive(pid), 5000, 'the stopped ffmpeg to be gone');
      const firstAfter = rec.aus.find((a, i) => i >= before && rec.aus[i - 1] !== undefined && a.seq > rec.aus[before - 1]!.seq);
      assert.ok(firstAfter?.keyframe, 'first picture after the stall is a keyframe');
      assert.ok(enc.stats.droppedBusy + enc.stats.droppedDown + enc.stats.droppedAtRestart > 0, 'frames meanwhile were refused, counted');
    } finally {
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      await source.stop();
      await enc.stop();
    }
  });
});

describe('H.264 encoder selection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'framewire-h264-probe-'));
  let fakeFfmpeg = '';
  before(() => {
    // An ffmpeg built without libx264 (and without any working hardware encoder) answers every encode so.
    fakeFfmpeg = join(dir, 'ffmpeg');
    writeFileSync(fakeFfmpeg, `#!/bin/sh\necho "Unknown encoder 'libx264'" >&2\nexit 1\n`);
    chmodSync(fakeFfmpeg, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('libx264 works here; the probe result is cached', { timeout: 60_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const ffmpeg = spawnSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).stdout.trim();
    const p = await probeH264Encoder(ffmpeg, 'libx264');
    assert.equal(p.ok, true, p.detail);
    assert.equal(await probeH264Encoder(ffmpeg, 'libx264'), p, 'same result object: probed once');
    const named = await selectH264Encoder('libx264', { ffmpegPath: ffmpeg });
    assert.equal(named.encoder, 'libx264');
  });

  test('auto takes the first hardware encoder that works, else libx264, and says why the others were not used', { timeout: 120_000 }, async (t) => {
    if (!needFfmpeg(t)) return;
    const sel = await selectH264Encoder('auto');
    assert.deepEqual(sel.probes.map((p) => p.encoder), [...HARDWARE_ENCODERS, 'libx264'].slice(0, sel.probes.length));
    assert.equal(sel.probes.at(-1)!.encoder, sel.encoder);
    assert.ok(sel.probes.at(-1)!.ok);
    assert.ok(sel.probes.slice(0, -1).every((p) => !p.ok && p.detail.length > 0));
    assert.match(sel.summary, new RegExp(`^H\\.264 encoder: ${sel.encoder} \\(auto\\)`));
    for (const p of sel.probes.slice(0, -1)) assert.ok(sel.summary.includes(`${p.encoder}: ${p.detail}`));
  });

  test('no libx264: E_UNSUPPORTED, one line naming what to install; the encoder will not start', { timeout: 60_000 }, async (t) => {
    if (process.platform === 'win32') return t.skip('the stand-in ffmpeg is a shell script');
    await assert.rejects(selectH264Encoder('auto', { ffmpegPath: fakeFfmpeg }), (e: unknown) => {
      assert.ok(e instanceof FramewireError);
      assert.equal(e.code, 'E_UNSUPPORTED');
      assert.doesNotMatch(e.message, /\n/);
      assert.match(e.message, /libx264/);
      assert.match(e.message, /apt-get install ffmpeg/);
      assert.match(e.message, /Unknown encoder 'libx264'/);
      return true;
    });
    const enc = new H264Encoder({ ...base, encoder: 'auto', ffmpegPath: fakeFfmpeg });
    await assert.rejects(enc.start(recorder()), (e: unknown) => e instanceof FramewireError && e.code === 'E_UNSUPPORTED');
    assert.equal(enc.encode(rgbFrame(new TestPatternRenderer(W, H), 0)), false);
  });

  test('a named hardware encoder that does not work is E_UNSUPPORTED with ffmpeg\'s reason', { timeout: 60_000 }, async (t) => {
    if (process.platform === 'win32') return t.skip('the stand-in ffmpeg is a shell script');
    await assert.rejects(selectH264Encoder('h264_vaapi', { ffmpegPath: fakeFfmpeg }), (e: unknown) => {
      assert.ok(e instanceof FramewireError && e.code === 'E_UNSUPPORTED');
      assert.match(e.message, /^H\.264 encoder h264_vaapi does not work on this host: /);
      return true;
    });
  });
});
