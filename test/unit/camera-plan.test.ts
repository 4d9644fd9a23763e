/**
 * A camera's mode choice and the ffmpeg command line it gives, from device listings (test/fixtures/devices/):
 * MJPEG by default, H.264 when the server requires H.264 and forwards it (docs/sources.md, Cameras).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseCameraMode, formatDeviceTable, parseDshowOptions, parseV4l2CtlFormats, parseV4l2FfmpegFormats, type DeviceInfo } from '../../src/cli/devices.js';
import { cameraPlan, resolvePlan } from '../../src/sources/ffmpeg/resolve-plan.js';
import { parseSourceSpec } from '../../src/sources/spec.js';
import { buildFfmpegArgs } from '../../src/sources/ffmpeg/input-args.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/devices/${name}`, import.meta.url), 'utf8');

/** YUYV (1280x720 at 10 fps, 1920x1080 at 5), H.264 (also 800x448 and 1600x896) and MJPEG, all else at 30 fps. */
const linuxCam: DeviceInfo = { id: '/dev/video0', name: 'USB Camera', formats: parseV4l2CtlFormats(fixture('linux-v4l2-ctl-1.22-list-formats-ext-h264.txt')) };
const linuxCamNoRates: DeviceInfo = { ...linuxCam, formats: parseV4l2FfmpegFormats(fixture('linux-ffmpeg-5.1-v4l2-list-formats-h264.txt')) };
const windowsCam: DeviceInfo = { id: 'USB Camera', name: 'USB Camera', formats: parseDshowOptions(fixture('windows-ffmpeg-6.1-dshow-list-options-h264.txt')) };

const HEAD = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning'];
const JPEG_ENCODE = ['-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', '5'];
const FLV_COPY = ['-map', '0:v:0', '-an', '-sn', '-dn', '-c:v', 'copy', '-flush_packets', '1', '-f', 'flv', 'pipe:3'];

const mode = (m: { pixelFormat: string; width: number; height: number; fps: number }): string => `${m.width}x${m.height}@${m.fps} ${m.pixelFormat}`;

test('by default MJPEG wins over H.264 at the same size and rate', () => {
  for (const cam of [linuxCam, linuxCamNoRates, windowsCam]) {
    assert.equal(mode(chooseCameraMode(cam, { width: 1280, height: 720, fps: 30 })), '1280x720@30 mjpeg', cam.id);
    for (const codec of [undefined, 'both', 'jpeg'] as const) {
      const plan = cameraPlan(cam === windowsCam ? 'win32' : 'linux', cam.id, cam, { width: 1280, height: 720, fps: 30 }, codec === undefined ? {} : { codec });
      assert.deepEqual([plan.h264, plan.passthrough], [undefined, true], `${cam.id} ${codec}`);
    }
  }
  const m = chooseCameraMode(linuxCam, { width: 1280, height: 720, fps: 30 });
  assert.equal(m.reason, '1280x720@30 mjpeg: MJPEG at the requested size (JPEGs passed through)');
});

test('with codec h264 an H.264 mode at the same rank wins over MJPEG, and the reason names the rule', () => {
  const m = chooseCameraMode(linuxCam, { width: 1280, height: 720, fps: 30 }, { preferH264: true });
  assert.equal(mode(m), '1280x720@30 h264');
  assert.equal(m.reason, '1280x720@30 h264: H.264 at the requested size, preferred with codec h264 (forwarded untouched to H.264 viewers)');
  const cover = chooseCameraMode(linuxCam, { width: 1000, height: 700, fps: 30 }, { preferH264: true });
  assert.equal(mode(cover), '1280x720@30 h264');
  assert.equal(cover.reason, '1280x720@30 h264: 1000x700@30 not offered; smallest mode covering it (H.264 preferred with codec h264)');
  assert.equal(mode(chooseCameraMode(windowsCam, { width: 1920, height: 1080, fps: 30 }, { preferH264: true })), '1920x1080@30 h264');
});

test('the size and rate rank above the format: H.264 only wins among equals', () => {
  // Without H.264 at 1280x720, MJPEG at the exact size beats H.264 at a covering size.
  const noH264At720 = { ...linuxCam, formats: linuxCam.formats.map((f) => (f.pixelFormat === 'h264' ? { ...f, sizes: f.sizes.filter((s) => s.width !== 1280) } : f)) };
  assert.equal(mode(chooseCameraMode(noH264At720, { width: 1280, height: 720, fps: 30 }, { preferH264: true })), '1280x720@30 mjpeg');
  // 1280x720 YUYV runs at 10 fps only; H.264 reaches 30, so it wins even by default where MJPEG is absent.
  const noMjpeg = { ...linuxCam, formats: linuxCam.formats.filter((f) => f.pixelFormat !== 'mjpeg') };
  const m = chooseCameraMode(noMjpeg, { width: 1280, height: 720, fps: 30 });
  assert.equal(mode(m), '1280x720@30 h264');
  assert.equal(m.reason, '1280x720@30 h264: requested size, only H.264 at it (decoded; JPEGs encoded once)');
});

test('by default raw wins over H.264 at the same rank (one decode less); with codec h264 H.264 does', () => {
  assert.equal(mode(chooseCameraMode(linuxCam, { width: 800, height: 448, fps: 30 })), '800x448@30 yuyv422');
  assert.equal(mode(chooseCameraMode(linuxCam, { width: 800, height: 448, fps: 30 }, { preferH264: true })), '800x448@30 h264');
});

test('v4l2: an H.264 mode gives -input_format h264 and a second output of its own stream on pipe 3', () => {
  const plan = cameraPlan('linux', '/dev/video0', linuxCam, { width: 1280, height: 720, fps: 30 }, { codec: 'h264' });
  assert.equal(plan.h264, true);
  assert.equal(plan.passthrough, false);
  assert.equal(plan.description, 'camera /dev/video0 1280x720@30 h264 (USB Camera)');
  assert.deepEqual(buildFfmpegArgs(plan), [
    ...HEAD, '-fflags', '+discardcorrupt',
    '-f', 'v4l2', '-input_format', 'h264', '-video_size', '1280x720', '-framerate', '30', '-i', '/dev/video0',
    '-map', '0:v:0', '-an', '-sn', '-dn', ...JPEG_ENCODE, '-f', 'mjpeg', 'pipe:1',
    ...FLV_COPY,
  ]);
});

test('v4l2: an H.264 mode chosen by default (the only one at the size) is marked h264 too', () => {
  const plan = cameraPlan('linux', '/dev/video0', linuxCamNoRates, { width: 1600, height: 896, fps: 30 });
  assert.equal(plan.h264, true);
  assert.deepEqual(plan.args, ['-f', 'v4l2', '-input_format', 'h264', '-video_size', '1600x896', '-framerate', '30', '-i', '/dev/video0']);
});

test('dshow: an H.264 mode gives -vcodec h264 and a second output on pipe 3', () => {
  const plan = cameraPlan('win32', 'USB Camera', windowsCam, { width: 1920, height: 1080, fps: 30 }, { codec: 'h264' });
  assert.equal(plan.h264, true);
  assert.deepEqual(buildFfmpegArgs(plan), [
    ...HEAD, '-fflags', '+discardcorrupt',
    '-f', 'dshow', '-rtbufsize', '64M', '-vcodec', 'h264', '-video_size', '1920x1080', '-framerate', '30', '-i', 'video=USB Camera',
    '-map', '0:v:0', '-an', '-sn', '-dn', ...JPEG_ENCODE, '-f', 'mjpeg', 'pipe:1',
    ...FLV_COPY,
  ]);
});

test('with passthrough off, codec h264 keeps MJPEG, and an H.264 mode is decoded with no second output', () => {
  const kept = cameraPlan('linux', '/dev/video0', linuxCam, { width: 1280, height: 720, fps: 30 }, { codec: 'h264', h264: false });
  assert.deepEqual(kept.args, ['-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '1280x720', '-framerate', '30', '-i', '/dev/video0']);
  const only = cameraPlan('linux', '/dev/video0', linuxCam, { width: 1600, height: 896, fps: 30 }, { codec: 'h264', h264: false });
  assert.equal(only.h264, false);
  assert.deepEqual(buildFfmpegArgs(only), [
    ...HEAD, '-f', 'v4l2', '-input_format', 'h264', '-video_size', '1600x896', '-framerate', '30', '-i', '/dev/video0',
    '-an', '-sn', '-dn', ...JPEG_ENCODE, '-f', 'mjpeg', 'pipe:1',
  ]);
});

test('an MJPEG mode keeps its command line: JPEGs copied, no second output', () => {
  const plan = cameraPlan('linux', '/dev/video0', linuxCam, { width: 1920, height: 1080, fps: 30 }, { codec: 'both' });
  assert.deepEqual(buildFfmpegArgs(plan), [
    ...HEAD, '-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '1920x1080', '-framerate', '30', '-i', '/dev/video0',
    '-an', '-sn', '-dn', '-c:v', 'copy', '-f', 'mjpeg', 'pipe:1',
  ]);
});

test('framewire devices marks H.264 modes and says when they are chosen', () => {
  const table = formatDeviceTable([linuxCam]);
  assert.match(table, /\n\s+h264\+\s+640x480 \(15, 30\)/);
  assert.match(table, /\+ H\.264: forwarded untouched to H\.264 viewers at that size; chosen over MJPEG with serve --codec h264\./);
});

test('ffmpeg: with -input_format h264 goes the probed passthrough path (no camera here: a stand-in prints the v4l2 probe)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-probe-'));
  try {
    // What ffmpeg prints when it opens a UVC camera's H.264 mode and is given no output.
    const fake = join(dir, 'ffmpeg');
    writeFileSync(fake, [
      '#!/bin/sh',
      "cat >&2 <<'EOF'",
      "Input #0, video4linux2,v4l2, from '/dev/video0':",
      '  Duration: N/A, start: 8754.296031, bitrate: N/A',
      '  Stream #0:0: Video: h264 (Constrained Baseline), yuvj420p(pc, bt709, progressive), 1280x720, 30 fps, 30 tbr, 1000k tbn',
      'At least one output file must be specified',
      'EOF',
      'exit 1',
      '',
    ].join('\n'), { mode: 0o755 });
    const spec = parseSourceSpec('ffmpeg:-f v4l2 -input_format h264 -video_size 1280x720 -i /dev/video0');
    assert.ok(spec.kind === 'ffmpeg');
    const request = { width: 1280, height: 720, fps: 30 };
    const plan = await resolvePlan(fake, spec, request, { platform: 'linux' });
    assert.equal(plan.h264, true);
    assert.deepEqual(buildFfmpegArgs(plan), [
      ...HEAD, '-fflags', '+discardcorrupt',
      '-re', '-f', 'v4l2', '-input_format', 'h264', '-video_size', '1280x720', '-i', '/dev/video0',
      '-map', '0:v:0', '-an', '-sn', '-dn', ...JPEG_ENCODE, '-f', 'mjpeg', 'pipe:1',
      ...FLV_COPY,
    ]);
    assert.equal((await resolvePlan(fake, spec, request, { platform: 'linux', h264: false })).h264, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
