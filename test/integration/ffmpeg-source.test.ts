import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../helpers/tools.js';
import { alive } from '../helpers/process.js';
import { FramewireError } from '../../src/errors.js';
import type { RawFrame, SourceEvent, SourceSink } from '../../src/sources/source.js';
import { createSource, parseSourceSpec } from '../../src/sources/spec.js';
import { effectiveFps, FfmpegSource, measuredFps } from '../../src/sources/ffmpeg/ffmpeg-source.js';
import { JpegSplitter } from '../../src/sources/jpeg-splitter.js';
import { splitArgs } from '../../src/sources/ffmpeg/split-args.js';
import { parseProbeOutput } from '../../src/sources/ffmpeg/probe.js';
import { recorded } from '../helpers/recorder.js';
import {
  buildFfmpegArgs,
  cameraInputArgs,
  fileInputArgs,
  genericInputArgs,
  screenInputArgs,
  urlInputArgs,
} from '../../src/sources/ffmpeg/input-args.js';

// ---------------------------------------------------------------- pure: specs and command lines

describe('source specs and ffmpeg command lines (pure)', () => {
  test('parseSourceSpec accepts every kind', () => {
    assert.deepEqual(parseSourceSpec('testpattern'), { kind: 'testpattern' });
    assert.deepEqual(parseSourceSpec('camera'), { kind: 'camera' });
    assert.deepEqual(parseSourceSpec('camera:/dev/video2'), { kind: 'camera', device: '/dev/video2' });
    assert.deepEqual(parseSourceSpec('camera:Integrated Camera'), { kind: 'camera', device: 'Integrated Camera' });
    assert.deepEqual(parseSourceSpec('file:C:\\clips\\a b.mp4'), { kind: 'file', path: 'C:\\clips\\a b.mp4' });
    assert.deepEqual(parseSourceSpec('url:rtsp://u:p@cam.local:554/s1'), { kind: 'url', url: 'rtsp://u:p@cam.local:554/s1' });
    assert.deepEqual(parseSourceSpec('screen'), { kind: 'screen' });
    assert.deepEqual(parseSourceSpec('screen::1.0'), { kind: 'screen', display: ':1.0' });
    assert.deepEqual(parseSourceSpec('ffmpeg:-f lavfi -i "testsrc2=size=640x480:rate=30"'), {
      kind: 'ffmpeg',
      args: ['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30'],
    });
  });

  test('parseSourceSpec rejects bad specs with E_BAD_PARAMS', () => {
    for (const bad of ['', 'webcam', 'file:', 'url:', 'url:notaurl', 'url:ftp://x/y', 'camera:', 'ffmpeg:', 'ffmpeg:-f lavfi', 'ffmpeg:-i', 'ffmpeg:-i "x', 'testpattern:x']) {
      assert.throws(() => parseSourceSpec(bad), (e: unknown) => e instanceof FramewireError && e.code === 'E_BAD_PARAMS', bad);
    }
  });

  test('splitArgs is shell-like', () => {
    assert.deepEqual(splitArgs(` -f  lavfi -i 'a b' "c \\"d\\"" e\\ f `), ['-f', 'lavfi', '-i', 'a b', 'c "d"', 'e f']);
    assert.deepEqual(splitArgs(`-i ''`), ['-i', '']);
  });

  test('camera input per platform', () => {
    const mode = { width: 1280, height: 720, fps: 30, format: 'mjpeg' as const };
    assert.deepEqual(cameraInputArgs('linux', '2', mode).args, ['-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '1280x720', '-framerate', '30', '-i', '/dev/video2']);
    assert.equal(cameraInputArgs('linux', '/dev/video0', mode).passthrough, true);
    assert.deepEqual(cameraInputArgs('linux', '/dev/video0', { ...mode, format: 'raw' as const }).args, ['-f', 'v4l2', '-video_size', '1280x720', '-framerate', '30', '-i', '/dev/video0']);
    const mac = cameraInputArgs('darwin', '0', mode);
    assert.deepEqual(mac.args, ['-f', 'avfoundation', '-video_size', '1280x720', '-framerate', '30', '-i', '0']);
    assert.equal(mac.passthrough, false);
    assert.deepEqual(cameraInputArgs('win32', 'Integrated Camera', mode).args, [
      '-f', 'dshow', '-rtbufsize', '64M', '-vcodec', 'mjpeg', '-video_size', '1280x720', '-framerate', '30', '-i', 'video=Integrated Camera',
    ]);
  });

  test('file, url, screen and generic inputs', () => {
    assert.deepEqual(fileInputArgs('clip.mp4', { loop: true, passthrough: false }).args, ['-re', '-stream_loop', '-1', '-i', 'clip.mp4']);
    const once = fileInputArgs('clip.avi', { loop: false, passthrough: true, fps: 25 });
    assert.deepEqual([once.args, once.finite, once.fps], [['-re', '-i', 'clip.avi'], true, 25]);
    assert.deepEqual(urlInputArgs('rtsp://cam/s', { passthrough: false }).args, ['-rtsp_transport', 'tcp', '-i', 'rtsp://cam/s']);
    assert.deepEqual(urlInputArgs('http://cam/video.mjpg', { passthrough: true }).args, ['-i', 'http://cam/video.mjpg']);
    assert.equal(urlInputArgs('rtsp://admin:secret@cam/s', { passthrough: false }).description, 'url rtsp://***@cam/s');
    assert.deepEqual(screenInputArgs('linux', undefined, 15).args, ['-f', 'x11grab', '-draw_mouse', '1', '-framerate', '15', '-i', ':0.0']);
    assert.deepEqual(screenInputArgs('darwin', undefined, 15).args, ['-f', 'avfoundation', '-capture_cursor', '1', '-framerate', '15', '-i', 'Capture screen 0']);
    assert.deepEqual(screenInputArgs('win32', undefined, 15).args, ['-f', 'gdigrab', '-draw_mouse', '1', '-framerate', '15', '-i', 'desktop']);
    assert.deepEqual(genericInputArgs(['-f', 'lavfi', '-i', 'testsrc2'], { passthrough: false }).args, ['-re', '-f', 'lavfi', '-i', 'testsrc2']);
    assert.deepEqual(genericInputArgs(['-re', '-i', 'x.mkv'], { passthrough: false }).args, ['-re', '-i', 'x.mkv']);
  });

  test('output: encode or copy MJPEG to stdout', () => {
    const enc = buildFfmpegArgs({ args: ['-i', 'in'], passthrough: false, description: '' }, { quality: 3 });
    assert.deepEqual(enc, [
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning',
      '-i', 'in', '-an', '-sn', '-dn', '-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', '3', '-f', 'mjpeg', 'pipe:1',
    ]);
    const copy = buildFfmpegArgs({ args: ['-i', 'in'], passthrough: true, description: '' });
    assert.deepEqual(copy.slice(-5), ['-c:v', 'copy', '-f', 'mjpeg', 'pipe:1']);
    assert.ok(copy.includes('-nostdin'));
  });

  test('parseProbeOutput reads codec, size and rate', () => {
    const avi = '  Stream #0:0: Video: mjpeg (Baseline) (MJPG / 0x47504A4D), yuvj420p(pc, bt470bg/unknown/unknown), 320x240 [SAR 1:1 DAR 4:3], 2529 kb/s, 30 fps, 30 tbr, 30 tbn';
    assert.deepEqual(parseProbeOutput(`Input #0, avi, from 'clip.avi':\n${avi}\n`), { codec: 'mjpeg', width: 320, height: 240, fps: 30 });
    const lavfi = '  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p, 640x480 [SAR 1:1 DAR 4:3], 25 tbr, 25 tbn';
    assert.deepEqual(parseProbeOutput(lavfi), { codec: 'rawvideo', width: 640, height: 480, fps: 25 });
    assert.equal(parseProbeOutput('clip.avi: No such file or directory'), null);
  });
});

// ---------------------------------------------------------------- with a real ffmpeg

interface Collector extends SourceSink {
  readonly frames: RawFrame[];
  readonly events: SourceEvent[];
  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void>;
}

function collector(): Collector {
  const r = recorded<RawFrame>('frames');
  return { frames: r.items, events: r.events, frame: r.add, event: r.event, until: r.until };
}


const LAVFI = 'ffmpeg:-f lavfi -i testsrc2=size=320x240:rate=30';
const request = { width: 320, height: 240, fps: 30 };

describe('the measured source rate (pure)', () => {
  test('the median interval: one stall or burst does not move it', () => {
    const at = (gaps: number[]) => gaps.reduce<number[]>((t, g) => [...t, t.at(-1)! + g], [0]);
    assert.equal(Math.round(measuredFps(at(Array(10).fill(1000 / 15)))! * 1000) / 1000, 15);
    assert.equal(Math.round(measuredFps(at([66, 67, 66, 900, 67, 66, 5, 67]))!), 15);
    assert.equal(measuredFps([0]), null);
  });
  test('declared unless clearly slower; snapped to a whole rate; never above the declared one', () => {
    assert.equal(effectiveFps(25, 15.1), 15, 'ffmpeg said 25, frames come at 15');
    assert.equal(effectiveFps(30, 29.2), 30, 'within 10 %: the declared rate');
    assert.equal(effectiveFps(30, 31), 30, 'a burst is not a faster source');
    assert.equal(effectiveFps(undefined, 7.49), 7.5);
    assert.equal(effectiveFps(30, null), 30);
  });
});

describe('FfmpegSource with ffmpeg', () => {
  const dir = mkdtempSync(join(tmpdir(), 'framewire-ffmpeg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('ffmpeg:-f lavfi testsrc2 delivers 320x240 JPEG frames', async (t) => {
    if (!requireTool(t, 'ffmpeg', ['-version'])) return;
    const source = createSource(parseSourceSpec(LAVFI), request, {});
    const sink = collector();
    try {
      await source.start(sink);
      assert.equal(source.info.width, 320);
      assert.equal(source.info.height, 240);
      await sink.until(() => sink.frames.length >= 20, 15_000, '20 frames');
      for (const [i, f] of sink.frames.entries()) {
        assert.equal(f.format, 'jpeg');
        assert.equal(f.width, 320);
        assert.equal(f.height, 240);
        assert.equal(f.seq, i);
        assert.equal(f.data[0], 0xff);
        assert.equal(f.data[1], 0xd8);
        assert.equal(f.data.at(-1), 0xd9);
      }
      const us = sink.frames.map((f) => f.captureUs);
      assert.ok(us.every((v, i) => i === 0 || v >= us[i - 1]!), 'capture times increase');
    } finally {
      await source.stop();
    }
  });

  test('file source passes an MJPEG file through byte-identical', async (t) => {
    if (!requireTool(t, 'ffmpeg', ['-version'])) return;
    const clip = join(dir, 'clip.avi');
    const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '2', '-c:v', 'mjpeg', '-q:v', '4', clip]);
    assert.equal(made.status, 0, String(made.stderr));
    const extracted = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', clip, '-c:v', 'copy', '-f', 'mjpeg', '-'], { maxBuffer: 64 << 20 });
    assert.equal(extracted.status, 0, String(extracted.stderr));
    const reference = new JpegSplitter().push(extracted.stdout);
    assert.equal(reference.length, 60);

    const source = createSource(parseSourceSpec(`file:${clip}`), request, { loop: false });
    const sink = collector();
    try {
      await source.start(sink);
      assert.ok((source as FfmpegSource).args.includes('copy'), 'passthrough chosen for an MJPEG file');
      await sink.until(() => sink.frames.length >= reference.length, 15_000, `${reference.length} frames`);
      assert.equal(sink.frames.length, reference.length);
      sink.frames.forEach((f, i) => assert.ok(f.data.equals(reference[i]!), `frame ${i} differs`));
      await sink.until(() => sink.events.some((e) => e.kind === 'lost'), 10_000, 'end of file');
      assert.deepEqual(sink.events.find((e) => e.kind === 'lost'), { kind: 'lost', reason: 'end of file' });
    } finally {
      await source.stop();
    }
  });

  test('SIGKILL of ffmpeg: lost, restart, resumed, frames continue', async (t) => {
    if (!requireTool(t, 'ffmpeg', ['-version'])) return;
    const source = createSource(parseSourceSpec(LAVFI), request, { stallSeconds: 5 }) as FfmpegSource;
    const sink = collector();
    try {
      await source.start(sink);
      await sink.until(() => sink.frames.length >= 5, 10_000, '5 frames');
      const first = source.pid;
      assert.ok(first);
      process.kill(first, 'SIGKILL');
      await sink.until(() => sink.events.some((e) => e.kind === 'lost'), 10_000, 'lost');
      const lost = sink.events.find((e) => e.kind === 'lost');
      assert.match(lost?.kind === 'lost' ? lost.reason : '', /SIGKILL/);
      await sink.until(() => sink.events.some((e) => e.kind === 'resumed'), 15_000, 'resumed');
      const kinds = sink.events.filter((e) => e.kind !== 'log').map((e) => e.kind);
      assert.deepEqual(kinds, ['lost', 'resumed']);
      const at = sink.frames.length;
      await sink.until(() => sink.frames.length >= at + 10, 10_000, '10 frames after resuming');
      assert.notEqual(source.pid, first);
      assert.ok(!alive(first));
      const seqs = sink.frames.map((f) => f.seq);
      assert.ok(seqs.every((s, i) => s === i), 'seq keeps counting across restarts');
    } finally {
      await source.stop();
    }
  });

  test('stop() leaves no ffmpeg process behind', async (t) => {
    if (!requireTool(t, 'ffmpeg', ['-version'])) return;
    const source = createSource(parseSourceSpec(LAVFI), request, {}) as FfmpegSource;
    const sink = collector();
    await source.start(sink);
    const pid = source.pid;
    assert.ok(pid && alive(pid));
    await source.stop();
    assert.equal(source.pid, undefined);
    assert.ok(!alive(pid), `ffmpeg ${pid} still running after stop()`);
    await source.stop(); // idempotent
  });

  test('start() rejects with E_SOURCE when the input cannot be opened', async (t) => {
    if (!requireTool(t, 'ffmpeg', ['-version'])) return;
    const missing = createSource(parseSourceSpec(`file:${join(dir, 'nope.mp4')}`), request, {});
    await assert.rejects(missing.start(collector()), (e: unknown) => e instanceof FramewireError && e.code === 'E_SOURCE' && /nope\.mp4/.test(e.message));
    const badGraph = createSource(parseSourceSpec('ffmpeg:-f lavfi -i nosuchfilter=1'), request, {});
    await assert.rejects(badGraph.start(collector()), (e: unknown) => e instanceof FramewireError && e.code === 'E_SOURCE');
    await badGraph.stop();
  });
});
